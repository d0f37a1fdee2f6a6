# Reference values for hwtrial.analysis.proportions.
# Run from the repo root: Rscript tests/reference/proportions.R  (writes proportions.json)
library(jsonlite)
cases <- list(c(56, 70, 48, 80), c(9, 10, 3, 10), c(15, 40, 22, 38), c(120, 400, 90, 410),
              c(5, 56, 1, 29))
levels <- c(0.95, 0.90)
out <- list()
for (cs in cases) for (lev in levels) {
  x1 <- cs[1]; n1 <- cs[2]; x2 <- cs[3]; n2 <- cs[4]
  w1 <- prop.test(x1, n1, conf.level = lev, correct = FALSE)$conf.int
  w2 <- prop.test(x2, n2, conf.level = lev, correct = FALSE)$conf.int
  tst <- prop.test(c(x1, x2), c(n1, n2), correct = FALSE)
  p1 <- x1 / n1; p2 <- x2 / n2; z <- qnorm((1 + lev) / 2)
  # Newcombe (1998) method 10: square-and-add of the Wilson limits
  rd_lo <- p1 - p2 - sqrt((p1 - w1[1])^2 + (w2[2] - p2)^2)
  rd_hi <- p1 - p2 + sqrt((w1[2] - p1)^2 + (p2 - w2[1])^2)
  # Katz log risk ratio and Woolf log odds ratio, by hand
  se_rr <- sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
  rr <- p1 / p2
  se_or <- sqrt(1 / x1 + 1 / (n1 - x1) + 1 / x2 + 1 / (n2 - x2))
  or <- (x1 * (n2 - x2)) / (x2 * (n1 - x1))
  out[[length(out) + 1]] <- list(
    x1 = x1, n1 = n1, x2 = x2, n2 = n2, level = lev,
    wilson1 = as.numeric(w1), wilson2 = as.numeric(w2),
    chi2 = unname(tst$statistic), p_value = tst$p.value,
    rd = p1 - p2, rd_ci = c(rd_lo, rd_hi),
    rr = rr, rr_se = se_rr, rr_ci = exp(log(rr) + c(-1, 1) * z * se_rr),
    rr_p = 2 * pnorm(-abs(log(rr) / se_rr)),
    or = or, or_se = se_or, or_ci = exp(log(or) + c(-1, 1) * z * se_or),
    or_p = 2 * pnorm(-abs(log(or) / se_or)))
}
# Published: Newcombe RG (1998) Stat Med 17:873-890, Table II, method 10 (4 decimals).
published <- list(
  list(x1 = 56, n1 = 70, x2 = 48, n2 = 80, lo = 0.0524, hi = 0.3339),
  list(x1 = 9, n1 = 10, x2 = 3, n2 = 10, lo = 0.1705, hi = 0.8090),
  list(x1 = 6, n1 = 7, x2 = 2, n2 = 7, lo = 0.0582, hi = 0.8062),
  list(x1 = 5, n1 = 56, x2 = 0, n2 = 29, lo = -0.0381, hi = 0.1926),
  list(x1 = 0, n1 = 10, x2 = 0, n2 = 20, lo = -0.1611, hi = 0.2775),
  list(x1 = 0, n1 = 10, x2 = 0, n2 = 10, lo = -0.2775, hi = 0.2775),
  list(x1 = 10, n1 = 10, x2 = 0, n2 = 20, lo = 0.6791, hi = 1.0000),
  list(x1 = 10, n1 = 10, x2 = 0, n2 = 10, lo = 0.6075, hi = 1.0000))
write_json(list(r_version = R.version.string, cases = out, newcombe_1998_table2 = published),
           "tests/reference/proportions.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
