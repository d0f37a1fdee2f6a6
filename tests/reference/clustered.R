# Reference values for hwtrial.analysis.clustered (tests/analysis/test_clustered.py).
# Run from this folder: Rscript clustered.R  (R 4.2, lme4 1.1-31, sandwich 3.0-2, lmtest)
# Writes clustered.csv (data generated here with set.seed) and clustered.json.
suppressPackageStartupMessages({library(lme4); library(sandwich); library(lmtest); library(jsonlite)})
set.seed(31337)
n_ther <- 16
sizes <- sample(6:15, n_ther, replace = TRUE)
ther <- rep(sprintf("t%02d", 1:n_ther), sizes)
arm_t <- sample(rep(c("control", "selfreview"), n_ther / 2))
arm <- rep(arm_t, sizes)
baseline <- round(rnorm(sum(sizes), 25, 5), 2)
u <- rep(rnorm(n_ther, 0, 1.5), sizes)
followup <- round(4 + 0.6 * baseline - 2 * (arm == "selfreview") + u + rnorm(sum(sizes), 0, 3), 3)
d <- data.frame(participant_id = seq_along(ther), therapist_id = ther, arm = arm,
                baseline = baseline, followup = followup)
write.csv(d, "clustered.csv", row.names = FALSE)
d$arm <- factor(d$arm, levels = c("control", "selfreview"))

ctl <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhobeg = 1e-3, rhoend = 1e-12, maxfun = 1e5))
fit <- lmer(followup ~ arm + baseline + (1 | therapist_id), d, REML = TRUE, control = ctl)
co <- summary(fit)$coefficients
vc <- as.data.frame(VarCorr(fit))
v_u <- vc$vcov[vc$grp == "therapist_id"]; v_e <- sigma(fit)^2
# ICC CI by profile likelihood in theta = sd_u / sd_e (the REML criterion profiled over beta and
# sigma, lme4's devfun): limits where devfun(theta) - min = qchisq(level, 1), mapped to
# icc = theta^2 / (1 + theta^2). Lower limit 0 if devfun(0) is within the cutoff.
dfun <- lmer(followup ~ arm + baseline + (1 | therapist_id), d, REML = TRUE, devFunOnly = TRUE)
th <- getME(fit, "theta"); dmin <- dfun(th)
cut <- qchisq(0.95, 1)
g <- function(t) dfun(t) - dmin - cut
lo <- if (g(0) <= 0) 0 else uniroot(g, c(0, th), tol = 1e-13)$root
hi <- uniroot(g, c(th, 50 * th), tol = 1e-13)$root
icc_ci <- c(lo, hi)^2 / (1 + c(lo, hi)^2)

ols <- lm(followup ~ arm + baseline, d)
G <- length(unique(d$therapist_id))
# statsmodels' default cluster correction G/(G-1) * (N-1)/(N-K) is vcovCL type = "HC1", cadjust = TRUE
V <- vcovCL(ols, cluster = ~therapist_id, type = "HC1", cadjust = TRUE)
ct <- coeftest(ols, vcov. = V, df = G - 1)
ci <- confint(ct, level = 0.95)
out <- list(
  lmer = list(terms = rownames(co), estimate = unname(co[, 1]), se = unname(co[, 2]),
              p_wald_z = unname(2 * pnorm(-abs(co[, 3]))),
              var_therapist = v_u, var_residual = v_e, icc = v_u / (v_u + v_e),
              icc_ci_profile = icc_ci, reml_criterion = unname(-2 * as.numeric(logLik(fit)))),
  ols_cluster = list(terms = rownames(ct), estimate = unname(ct[, 1]), se = unname(ct[, 2]),
                     t = unname(ct[, 3]), p_t_df_G_minus_1 = unname(ct[, 4]),
                     ci_low = unname(ci[, 1]), ci_high = unname(ci[, 2]), n_clusters = G,
                     vcovCL = "type = 'HC1', cadjust = TRUE; t with G - 1 df")
)
writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE, pretty = TRUE), "clustered.json")
