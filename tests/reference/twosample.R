# Reference values for hwtrial.analysis.twosample: Welch t.test.
# Run from the repo root: Rscript tests/reference/twosample.R  (writes twosample.csv/.json)
library(jsonlite)
set.seed(5150)
d <- data.frame(group = rep(c("treat", "control"), times = c(37, 45)))
d$y <- round(rnorm(nrow(d), mean = ifelse(d$group == "treat", 5.6, 4.9),
                   sd = ifelse(d$group == "treat", 2.1, 1.2)), 6)
write.csv(d, "tests/reference/twosample.csv", row.names = FALSE)
d <- read.csv("tests/reference/twosample.csv")
y1 <- d$y[d$group == "treat"]; y0 <- d$y[d$group == "control"]
one <- function(alt, lev) {
  t <- t.test(y1, y0, alternative = alt, conf.level = lev)
  list(alternative = alt, level = lev, estimate = unname(t$estimate[1] - t$estimate[2]),
       se = unname(t$stderr), t = unname(t$statistic), df = unname(t$parameter),
       p_value = t$p.value, ci = as.numeric(t$conf.int))
}
tests <- list(one("two.sided", 0.95), one("two.sided", 0.9), one("greater", 0.95),
              one("less", 0.95))
# a clear difference: |t| > 8, p must stay positive
big <- t.test(y1 + 4, y0)
write_json(list(r_version = R.version.string, tests = tests,
                big = list(t = unname(big$statistic), p_value = big$p.value)),
           "tests/reference/twosample.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
