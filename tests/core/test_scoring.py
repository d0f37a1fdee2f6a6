"""Questionnaire scoring: PHQ-9/GAD-7 bands, missing-items policy, safety, custom scales."""

import copy

import pytest

from hwtrial.questionnaires.scoring import GAD7, PHQ9, resolve_instrument, score

PHQ = {"key": "phq9", "builtin": "phq9"}
GAD = {"key": "gad7", "builtin": "gad7"}


def phq(*values):
    return {f"phq9_{i}": v for i, v in enumerate(values, start=1)}


def gad(*values):
    return {f"gad7_{i}": v for i, v in enumerate(values, start=1)}


def spread(total, n):
    """n item answers in 0..3 summing to total, item 9 kept at 0 where possible."""
    values = [0] * n
    for i in range(total):
        values[i % (n - 1) if total <= 3 * (n - 1) else i % n] += 1
    assert sum(values) == total and max(values) <= 3
    return values


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
     (14, "moderate"), (15, "moderately_severe"), (19, "moderately_severe"),
     (20, "severe"), (27, "severe")],
)
def test_phq9_exact_sum_and_band_cut_offs(total, band):
    s = score(PHQ, phq(*spread(total, 9)))
    assert (s.total, s.band, s.valid, s.prorated, s.n_missing) == (total, band, True, False, 0)
    assert s.total_unrounded == total and s.reason is None


@pytest.mark.parametrize(
    ("total", "band"),
    [(0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
     (14, "moderate"), (15, "severe"), (21, "severe")],
)
def test_gad7_exact_sum_and_band_cut_offs(total, band):
    s = score(GAD, gad(*spread(total, 7)))
    assert (s.instrument, s.total, s.band, s.safety_alerts) == ("gad7", total, band, ())


# Reference: Rscript (R 4.2.2) with this script; output pasted below unchanged.
#   set.seed(20261126)
#   band <- function(t) as.character(cut(t, c(-Inf, 4, 9, 14, 19, 27),
#     labels = c("minimal", "mild", "moderate", "moderately_severe", "severe")))
#   for (i in 1:16) {
#     a <- sample(0:3, 9, replace = TRUE, prob = c(0.3, 0.3, 0.2, 0.2))
#     k <- sample(c(0, 0, 1, 1, 2), 1)
#     if (k > 0) a[sample(1:9, k)] <- NA
#     n_ans <- sum(!is.na(a))
#     if (9 - n_ans > 1) { total <- NA; exact <- NA; b <- NA } else {
#       exact <- mean(a, na.rm = TRUE) * 9
#       total <- floor(exact + 0.5)              # half up; R's round() is half-to-even
#       b <- band(total)
#     }
#     cat(sprintf("    ([%s], %s, %s, %s),\n",
#       paste(ifelse(is.na(a), "None", a), collapse = ", "),
#       ifelse(is.na(total), "None", total),
#       ifelse(is.na(exact), "None", sprintf("%.12f", exact)),
#       ifelse(is.na(b), "None", paste0('"', b, '"'))))
#   }
PHQ9_REFERENCE = [
    ([1, 3, 1, 1, 1, 3, None, 3, 0], 15, 14.625000000000, "moderately_severe"),
    ([3, 3, 0, 0, 0, 0, 3, None, 3], 14, 13.500000000000, "moderate"),
    ([0, 1, 0, 2, 3, 1, 1, 1, 3], 12, 12.000000000000, "moderate"),
    ([3, 2, 1, 1, 2, 0, 0, 0, 3], 12, 12.000000000000, "moderate"),
    ([1, 3, 0, 2, 3, 0, 3, 2, 1], 15, 15.000000000000, "moderately_severe"),
    ([2, 0, 3, 3, 2, 0, None, 3, 1], 16, 15.750000000000, "moderately_severe"),
    ([1, 0, None, 2, 2, 1, None, 3, 2], None, None, None),
    ([1, 1, 0, 0, 1, 2, None, 1, 0], 7, 6.750000000000, "mild"),
    ([0, None, 0, 2, 1, 1, 3, 3, 3], 15, 14.625000000000, "moderately_severe"),
    ([0, 1, 3, 3, 0, 1, 1, 2, 2], 13, 13.000000000000, "moderate"),
    ([3, 2, 3, 0, 3, 3, 2, 1, 1], 18, 18.000000000000, "moderately_severe"),
    ([1, 0, 3, None, 1, 1, 1, 0, 1], 9, 9.000000000000, "mild"),
    ([3, 1, None, 1, 1, 2, 2, 1, 3], 16, 15.750000000000, "moderately_severe"),
    ([3, 1, None, 0, 1, 1, 1, 3, 0], 11, 11.250000000000, "moderate"),
    ([0, 0, 2, 1, 0, 3, 1, 3, 3], 13, 13.000000000000, "moderate"),
    ([1, None, 3, 0, 1, 0, 1, 2, 1], 10, 10.125000000000, "moderate"),
]


@pytest.mark.parametrize(("answers", "total", "exact", "band"), PHQ9_REFERENCE)
def test_phq9_against_r_reference(answers, total, exact, band):
    s = score(PHQ, phq(*answers))
    missing = answers.count(None)
    assert (s.total, s.band, s.n_missing, s.n_answered) == (total, band, missing, 9 - missing)
    if exact is None:
        assert s.total_unrounded is None
    else:
        assert s.total_unrounded == pytest.approx(exact, abs=1e-12)
    assert s.valid is (total is not None)
    assert s.prorated is (s.valid and missing > 0)


def test_prorating_rounds_half_up_and_bands_the_rounded_total():
    s = score(PHQ, phq(3, 3, 0, 0, 0, 0, 3, None, 3))  # 12 / 8 * 9 = 13.5
    assert (s.total_unrounded, s.total, s.band, s.prorated) == (13.5, 14, "moderate", True)
    s = score(PHQ, phq(1, 1, 1, 1, 0, 0, 0, 0, None))  # 4 / 8 * 9 = 4.5: half-even gives 4
    assert (s.total_unrounded, s.total, s.band) == (4.5, 5, "mild")
    s = score(PHQ, phq(1, 3, 1, 1, 1, 3, None, 3, 0))  # 14.625: "moderate" if not rounded
    assert (s.total, s.band) == (15, "moderately_severe")


def test_too_many_missing_is_invalid_with_reason():
    s = score(GAD, gad(1, 2, None, 3, None, 0, 0))
    assert (s.valid, s.total, s.total_unrounded, s.band, s.prorated) == (False, None, None, None, False)
    assert s.reason == "2 of 7 items missing; at most 1 allowed"
    assert not score(GAD, {}).valid  # nothing answered
    assert score(GAD, gad(1, 1, 1, 1, 1, 1)).prorated  # absent key counts as missing


def test_study_sets_max_missing():
    strict = score(PHQ | {"scoring": {"max_missing": 0}}, phq(1, 1, 1, 1, 1, 1, 1, 1, None))
    assert not strict.valid
    lenient = score(GAD | {"scoring": {"max_missing": 2}}, gad(1, 2, None, 3, None, 0, 0))
    assert (lenient.total, lenient.total_unrounded) == (8, 8.4)  # 6 / 5 * 7


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        (phq(0, 0, 0, 0, 0, 0, 0, 0, 4), "'phq9_9'.*outside 0..3"),
        ({"phq9_2": -1}, "'phq9_2'.*outside 0..3"),
        ({"phq9_3": 1.0}, "'phq9_3'.*must be an integer"),
        ({"phq9_3": True}, "'phq9_3'.*must be an integer"),
        ({"phq9_10": 1}, "unknown item 'phq9_10'"),
    ],
)
def test_bad_answers_raise_naming_the_item(answers, message):
    with pytest.raises(ValueError, match=message):
        score(PHQ, answers)


def test_phq9_item9_safety_alert_even_when_invalid():
    assert score(PHQ, phq(0, 0, 0, 0, 0, 0, 0, 0, 0)).safety_alerts == ()
    assert score(PHQ, phq(0, 0, 0, 0, 0, 0, 0, 0, 1)).safety_alerts == ("phq9_9",)
    invalid = score(PHQ, {"phq9_9": 2})
    assert (invalid.valid, invalid.safety_alerts) == (False, ("phq9_9",))


def test_safety_threshold_and_item_configurable():
    custom = PHQ | {"safety": {"item": "phq9_9", "threshold": 2, "notify": "coordinator"}}
    assert score(custom, phq(0, 0, 0, 0, 0, 0, 0, 0, 1)).safety_alerts == ()
    assert score(custom, phq(0, 0, 0, 0, 0, 0, 0, 0, 2)).safety_alerts == ("phq9_9",)
    # an explicit null in the study file switches the builtin alert off; leaving it out keeps it
    assert score(PHQ | {"safety": None}, phq(0, 0, 0, 0, 0, 0, 0, 0, 3)).safety_alerts == ()
    assert score({k: v for k, v in PHQ.items() if k != "safety"},
                 phq(0, 0, 0, 0, 0, 0, 0, 0, 1)).safety_alerts == ("phq9_9",)
    with pytest.raises(ValueError, match="safety item 'q9'"):
        score(PHQ | {"safety": {"item": "q9", "threshold": 1}}, {})
    renamed = [{"key": f"q{i}", "min": 0, "max": 3} for i in range(1, 10)]
    with pytest.raises(ValueError, match="safety item 'phq9_9' is not one of its items"):
        resolve_instrument(PHQ | {"items": renamed})  # builtin safety would silently never fire


def test_study_band_override():
    bands = [{"max": 9, "label": "below_cutoff"}, {"max": 27, "label": "case"}]
    assert score(PHQ | {"bands": bands}, phq(*spread(10, 9))).band == "case"
    assert score(PHQ | {"scoring": {"bands": bands}}, phq(*spread(9, 9))).band == "below_cutoff"
    with pytest.raises(ValueError, match="strictly increasing"):
        score(PHQ | {"bands": list(reversed(bands))}, phq(*spread(9, 9)))


WELLBEING = {
    "key": "wb",
    "items": [
        {"key": "a", "min": 1, "max": 5},
        {"key": "b", "min": 1, "max": 5, "reverse": True},
        {"key": "c", "min": 1, "max": 5},
    ],
    "scoring": {"method": "mean", "max_missing": 1},
    "bands": [{"max": 2, "label": "low"}, {"max": 5, "label": "ok"}],
}


def test_custom_mean_with_reverse_item():
    s = score(WELLBEING, {"a": 4, "b": 2, "c": 3})  # b -> 1 + 5 - 2 = 4
    assert (s.total, s.band, s.safety_alerts) == (pytest.approx(11 / 3), "ok", ())
    s = score(WELLBEING, {"a": 1, "b": 5})  # mean of 1 and 1, one missing allowed
    assert (s.total, s.band, s.prorated) == (1.0, "low", True)


def test_custom_sum_default_no_missing_and_bad_method():
    summed = WELLBEING | {"scoring": {"method": "sum"}}
    assert score(summed, {"a": 5, "b": 5, "c": 5}).total == 11
    assert not score(summed, {"a": 5, "b": 5}).valid  # custom instruments: max_missing 0
    with pytest.raises(ValueError, match="scoring.method"):
        score(WELLBEING | {"scoring": {"method": "median"}}, {"a": 1})
    with pytest.raises(ValueError, match="unknown builtin instrument 'bdi'"):
        score({"key": "x", "builtin": "bdi"}, {})


def test_builtin_constants_are_not_mutated():
    before = copy.deepcopy((PHQ9, GAD7))
    score(PHQ | {"bands": [{"max": 27, "label": "x"}], "scoring": {"max_missing": 3}}, phq(1))
    assert (PHQ9, GAD7) == before
    assert [i["key"] for i in PHQ9["items"]] == [f"phq9_{i}" for i in range(1, 10)]
    assert PHQ9["scoring"] == {"method": "sum", "max_missing": 1}
