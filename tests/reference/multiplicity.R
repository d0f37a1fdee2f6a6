# Reference values for hwtrial.analysis.multiplicity: p.adjust and multcomp Dunnett.
# Run from the repo root: Rscript tests/reference/multiplicity.R
# (writes multiplicity.csv and multiplicity.json)
library(jsonlite)
library(multcomp)
p <- c(0.0001, 0.004, 0.019, 0.0095, 0.03, 0.2, 0.045, 0.6, 0.0451, NA, 0.9, 0.01)
adj <- lapply(c(bonferroni = "bonferroni", holm = "holm", hochberg = "hochberg", BH = "BH"),
              function(m) p.adjust(p, m))
set.seed(7301)
d <- data.frame(arm = rep(c("ctrl", "remind", "review", "frame"), times = c(30, 28, 31, 29)))
d$y <- rnorm(nrow(d), mean = c(ctrl = 10, remind = 11.2, review = 10.4, frame = 12)[d$arm], sd = 2.5)
d$y <- round(d$y, 6)
write.csv(d, "tests/reference/multiplicity.csv", row.names = FALSE)
d <- read.csv("tests/reference/multiplicity.csv")
d$arm <- factor(d$arm, levels = c("ctrl", "frame", "remind", "review"))
fit <- aov(y ~ arm, data = d)
set.seed(1)
g <- glht(fit, linfct = mcp(arm = "Dunnett"))
s <- summary(g)
ci <- confint(g, level = 0.95)
write_json(list(
  r_version = R.version.string, multcomp_version = as.character(packageVersion("multcomp")),
  p = p, adjusted = adj,
  dunnett = list(arms = c("frame", "remind", "review"),
                 estimate = unname(s$test$coefficients), se = unname(s$test$sigma),
                 t = unname(s$test$tstat), p_value = unname(s$test$pvalues),
                 ci_low = unname(ci$confint[, "lwr"]), ci_high = unname(ci$confint[, "upr"]),
                 df = fit$df.residual)),
  "tests/reference/multiplicity.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
