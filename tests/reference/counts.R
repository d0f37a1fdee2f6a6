# Reference values for hwtrial.analysis.counts (tests/analysis/test_counts.py).
# Run from this folder: Rscript counts.R  (R 4.2, MASS 7.3-58.2, geepack 1.3.9)
# Writes counts.csv (weekly engagement counts, generated here with set.seed) and counts.json.
suppressPackageStartupMessages({library(MASS); library(geepack); library(jsonlite)})
set.seed(4242)
n <- 80; weeks <- 1:4
arm_p <- sample(rep(c("control", "reminder"), n / 2))
frailty <- rgamma(n, shape = 2, rate = 2)
d <- expand.grid(week = weeks, pid = 1:n)
d$participant_id <- sprintf("p%03d", d$pid)
d$arm <- arm_p[d$pid]
d$edits <- rpois(nrow(d), 3 * frailty[d$pid] * ifelse(d$arm == "reminder", 1.5, 1) * 0.9^(d$week - 1))
d$minutes <- round(rgamma(nrow(d), shape = 2, rate = 0.2), 1)
d <- d[, c("participant_id", "arm", "week", "edits", "minutes")]
write.csv(d, "counts.csv", row.names = FALSE)
d$arm <- factor(d$arm, levels = c("control", "reminder"))

# Negative binomial on each participant's total edits (one row per participant).
tot <- aggregate(edits ~ participant_id + arm, d, sum)
nb <- glm.nb(edits ~ arm, tot, control = glm.control(epsilon = 1e-14, maxit = 200))
co <- summary(nb)$coefficients
ci <- confint.default(nb)  # Wald on the log scale
nb_out <- list(terms = rownames(co), estimate_log = unname(co[, 1]), se_log = unname(co[, 2]),
               p_wald_z = unname(co[, 4]), rate_ratio = unname(exp(co[, 1])),
               rr_ci_low = unname(exp(ci[, 1])), rr_ci_high = unname(exp(ci[, 2])),
               theta = nb$theta, loglik = as.numeric(logLik(nb)))

# GEE Poisson, exchangeable working correlation, clustered by participant; robust (sandwich) SE.
d <- d[order(d$participant_id, d$week), ]
d$id <- as.integer(factor(d$participant_id))
gee <- geeglm(edits ~ arm + week, id = id, data = d, family = poisson, corstr = "exchangeable")
gco <- summary(gee)$coefficients
gee_out <- list(terms = rownames(gco), estimate_log = unname(gco[, 1]), se_robust = unname(gco[, 2]),
                # p by hand: summary() prints 0 for the intercept
                p_wald = unname(2 * pnorm(-abs(gco[, 1] / gco[, 2]))), alpha = unname(summary(gee)$corr[1, 1]),
                scale = unname(summary(gee)$dispersion[1, 1]))

# Per-arm mean minutes per participant-week with a t interval.
summ <- lapply(c("control", "reminder"), function(a) {
  x <- d$minutes[d$arm == a]; tt <- t.test(x, conf.level = 0.95)
  list(arm = a, n = length(x), mean = mean(x), se = sd(x) / sqrt(length(x)),
       ci_low = tt$conf.int[1], ci_high = tt$conf.int[2])
})
writeLines(toJSON(list(glm_nb = nb_out, geeglm = gee_out, minutes_by_arm = summ),
                  digits = I(17), auto_unbox = TRUE, pretty = TRUE), "counts.json")
