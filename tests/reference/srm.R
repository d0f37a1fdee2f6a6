# Reference values for hwtrial.analysis.srm: chisq.test goodness of fit to a planned ratio.
# Run from the repo root: Rscript tests/reference/srm.R  (writes srm.json)
library(jsonlite)
cases <- list(list(x = c(500, 520), ratio = c(1, 1)),
              list(x = c(1000, 1120), ratio = c(1, 1)),
              list(x = c(330, 352, 318), ratio = c(1, 1, 1)),
              list(x = c(210, 390), ratio = c(1, 2)),
              list(x = c(5000, 5400, 4700, 4900), ratio = c(1, 1, 1, 1)),
              list(x = c(60000, 40000), ratio = c(1, 1)))
out <- lapply(cases, function(cs) {
  t <- chisq.test(cs$x, p = cs$ratio / sum(cs$ratio))
  list(x = cs$x, ratio = cs$ratio, chi2 = unname(t$statistic), df = unname(t$parameter),
       p_value = t$p.value, expected = unname(t$expected))
})
write_json(list(r_version = R.version.string, cases = out), "tests/reference/srm.json",
           digits = NA, auto_unbox = TRUE, pretty = TRUE)
