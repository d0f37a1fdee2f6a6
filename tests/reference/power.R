# Reference values for hwtrial.analysis.power: power.prop.test / power.t.test.
# uniroot's default tol (eps^0.25) is too loose for 1e-6 agreement, so tol = 1e-12 here.
# Run from the repo root: Rscript tests/reference/power.R  (writes power.json)
library(jsonlite)
tol <- 1e-12
prop <- list(
  list(args = list(p1 = 0.5, p2 = 0.75, power = 0.9)),
  list(args = list(p1 = 0.4, p2 = 0.55, power = 0.8)),
  list(args = list(p1 = 0.3, p2 = 0.45, n = 150)),
  list(args = list(p1 = 0.3, p2 = 0.45, n = 150, alternative = "one.sided")),
  list(args = list(p1 = 0.6, n = 200, power = 0.8)),
  list(args = list(p1 = 0.2, p2 = 0.3, power = 0.8, sig.level = 0.01, strict = TRUE)))
prop <- lapply(prop, function(cs) {
  r <- do.call(power.prop.test, c(cs$args, tol = tol))
  c(cs, list(n = r$n, p2 = r$p2, power = r$power))
})
tt <- list(
  list(args = list(delta = 1, sd = 1, power = 0.9)),
  list(args = list(delta = 0.4, sd = 1.5, power = 0.8)),
  list(args = list(n = 20, sd = 1, power = 0.9)),
  list(args = list(n = 50, delta = 3, sd = 8)),
  list(args = list(n = 50, delta = 3, sd = 8, alternative = "one.sided")),
  list(args = list(n = 12, delta = 0.6, sd = 1, strict = TRUE)))
tt <- lapply(tt, function(cs) {
  r <- do.call(power.t.test, c(cs$args, tol = tol))
  c(cs, list(n = r$n, delta = r$delta, power = r$power))
})
# 2^k factorial main effect: two-arm calculation with N/2 per level (see power.py).
fac <- power.t.test(delta = 0.5, sd = 1, power = 0.8, tol = tol)
write_json(list(r_version = R.version.string, prop = prop, t = tt,
                factorial_k3_delta05 = list(n_per_level = fac$n, n_total = 2 * fac$n)),
           "tests/reference/power.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
