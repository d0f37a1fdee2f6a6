# Reference values for hwtrial.analysis.mixed (tests/analysis/test_mixed.py).
# Run from this folder: Rscript mixed.R   (R 4.2, lme4 1.1-31)
# Writes mixed.csv (the data, generated here with set.seed) and mixed.json.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
set.seed(20240611)
n <- 60; times <- 0:3
id <- rep(sprintf("p%02d", 1:n), each = length(times))
arm <- rep(sample(rep(c("control", "reminder"), n / 2)), each = length(times))
time <- rep(times, n)
baseline <- rep(round(rnorm(n, 20, 4), 3), each = length(times))
u <- rep(rnorm(n, 0, 2.5), each = length(times))
outcome <- round(5 + 0.4 * baseline - 1.0 * time - 0.8 * (arm == "reminder") * time +
                 u + rnorm(n * length(times), 0, 2), 4)
# A second outcome with no between-participant variance so the REML estimate sits on the
# boundary (singular fit): the case of statsmodels issue 10239.
set.seed(3)
outcome_flat <- round(3 + 0.5 * time + 0.3 * (arm == "reminder") + rnorm(n * length(times)), 4)
d <- data.frame(participant_id = id, arm = arm, time = time, baseline = baseline,
                outcome = outcome, outcome_flat = outcome_flat)
write.csv(d, "mixed.csv", row.names = FALSE)

ctl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 1e-3, rhoend = 1e-12, maxfun = 1e5),
                   check.conv.singular = "ignore")
summarise <- function(fit) {
  co <- summary(fit)$coefficients
  z <- co[, "Estimate"] / co[, "Std. Error"]
  vc <- as.data.frame(VarCorr(fit))
  list(terms = rownames(co), estimate = unname(co[, "Estimate"]), se = unname(co[, "Std. Error"]),
       # lmer gives no p-values; the Wald z p-value computed by hand, as hwtrial reports it
       p_wald_z = unname(2 * pnorm(-abs(z))),
       var_participant = vc$vcov[vc$grp == "participant_id"], var_residual = sigma(fit)^2,
       logLik = as.numeric(logLik(fit)), deviance_criterion = unname(-2 * as.numeric(logLik(fit))),
       reml = isREML(fit))
}
d$arm <- factor(d$arm, levels = c("control", "reminder"))
out <- list(
  reml = summarise(lmer(outcome ~ arm * time + baseline + (1 | participant_id), d, REML = TRUE, control = ctl)),
  ml = summarise(lmer(outcome ~ arm * time + baseline + (1 | participant_id), d, REML = FALSE, control = ctl)),
  reml_categorical_time = summarise(lmer(outcome ~ arm * factor(time) + (1 | participant_id), d,
                                         REML = TRUE, control = ctl)),
  boundary = summarise(lmer(outcome_flat ~ arm * time + (1 | participant_id), d, REML = TRUE, control = ctl))
)
writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE, pretty = TRUE), "mixed.json")
