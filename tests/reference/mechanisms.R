# Reference values for hwtrial.analysis.mechanisms (tests/analysis/test_mechanisms.py).
# Run from this folder: Rscript mechanisms.R  (R 4.2, AER 1.2-10, sandwich 3.0-2, lmtest)
# Writes mechanisms.csv (data generated here with set.seed) and mechanisms.json.
suppressPackageStartupMessages({library(AER); library(sandwich); library(lmtest); library(jsonlite)})
set.seed(8080)
n <- 150
arm <- sample(rep(c("control", "prompt"), n / 2))
z <- as.numeric(arm == "prompt")
baseline <- round(rnorm(n, 15, 4), 2)
engagement <- round(2 + 1.5 * z + 0.1 * baseline + rnorm(n, 0, 1.5), 3)
followup <- round(3 + 0.5 * baseline - 0.8 * engagement - 0.5 * z + rnorm(n, 0, 2), 3)
# adherence (completed the homework course): more likely when offered the prompt
completed <- rbinom(n, 1, ifelse(z == 1, 0.7, 0.15))
outcome_itt <- round(10 - 2.5 * completed + 0.3 * baseline + rnorm(n, 0, 2), 3)
d <- data.frame(participant_id = 1:n, arm, baseline, engagement, followup, completed, outcome_itt)
write.csv(d, "mechanisms.csv", row.names = FALSE)
d$z <- z

coefs <- function(fit, term) {
  co <- summary(fit)$coefficients; ci <- confint(fit)
  list(estimate = co[term, 1], se = co[term, 2], p = co[term, 4], ci_low = ci[term, 1],
       ci_high = ci[term, 2])
}
ma <- lm(engagement ~ z + baseline, d)          # a path
mb <- lm(followup ~ z + engagement + baseline, d)  # b path and direct effect c'
mc <- lm(followup ~ z + baseline, d)             # total effect c
a <- coefs(ma, "z"); b <- coefs(mb, "engagement")
sobel_se <- sqrt(b$estimate^2 * a$se^2 + a$estimate^2 * b$se^2)

iv <- ivreg(outcome_itt ~ completed + baseline | z + baseline, data = d)
ct_classical <- coeftest(iv)  # t with n - k df, classical 2SLS variance
ct_hc1 <- coeftest(iv, vcov. = vcovHC(iv, type = "HC1"))
iv_out <- function(ct) list(estimate = ct["completed", 1], se = ct["completed", 2],
                            p = ct["completed", 4],
                            ci_low = ct["completed", 1] - qt(0.975, iv$df.residual) * ct["completed", 2],
                            ci_high = ct["completed", 1] + qt(0.975, iv$df.residual) * ct["completed", 2])
out <- list(a = a, b = b, direct = coefs(mb, "z"), total = coefs(mc, "z"),
            indirect = a$estimate * b$estimate, sobel_se = sobel_se,
            cace_classical = iv_out(ct_classical), cace_hc1 = iv_out(ct_hc1),
            df_residual_iv = iv$df.residual)
writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE, pretty = TRUE), "mechanisms.json")
