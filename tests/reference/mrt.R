# Reference values for hwtrial.analysis.mrt (tests/analysis/test_mrt.py).
# Run from this folder: Rscript mrt.R  (R 4.2, sandwich 3.0-2)
# Writes mrt.csv (micro-randomised reminder data, generated here with set.seed) and mrt.json.
# WCLS (Boruvka et al. 2018) fitted by hand: available points only, p_tilde = mean(treated),
# weights W = (p_tilde/p)^A ((1-p_tilde)/(1-p))^(1-A), centred treatment A - p_tilde.
suppressPackageStartupMessages({library(sandwich); library(jsonlite)})
set.seed(909)
n <- 40; T <- 50
d <- expand.grid(decision_point = 1:T, participant_id = 1:n)
d$available <- rbinom(nrow(d), 1, 0.8)
d$stress <- round(rnorm(nrow(d)), 3)             # control covariate
d$weekend <- as.numeric((d$decision_point %% 7) %in% c(0, 6))  # moderator
d$probability <- ifelse(d$stress > 0.5, 0.7, 0.4)  # randomisation prob depends on stress
d$treated <- ifelse(d$available == 1, rbinom(nrow(d), 1, d$probability), 0)
u <- rnorm(n, 0, 0.5)[d$participant_id]
d$outcome <- round(1 + 0.4 * d$stress + u + d$treated * (0.3 - 0.2 * d$weekend) +
                   rnorm(nrow(d)), 4)
d$outcome[d$available == 0] <- NA  # proximal outcome only observed when available
write.csv(d[, c("participant_id", "decision_point", "available", "treated", "probability",
                "outcome", "stress", "weekend")], "mrt.csv", row.names = FALSE, na = "")

a <- d[d$available == 1, ]
pt <- mean(a$treated)
a$w <- ifelse(a$treated == 1, pt / a$probability, (1 - pt) / (1 - a$probability))
a$ac <- a$treated - pt
G <- length(unique(a$participant_id))
# Mancl-DeRouen (2001) small-sample sandwich by hand: U_i = X_i' W_i (I - H_ii)^-1 r_i with
# H_ii = X_i B^-1 X_i' W_i, B = X'WX. (vcovCL type = "HC3" is not this with weights: it
# applies (I - H_ii)^-1 to W r instead of r and multiplies by (G - 1)/G.)
vcov_md <- function(fit) {
  X <- model.matrix(fit); w <- weights(fit); r <- residuals(fit)
  Binv <- solve(crossprod(X, X * w)); meat <- 0
  for (g in unique(a$participant_id)) {
    ij <- which(a$participant_id == g); Xg <- X[ij, , drop = FALSE]
    H <- Xg %*% Binv %*% t(Xg * w[ij])
    u <- t(Xg) %*% (w[ij] * solve(diag(length(ij)) - H, r[ij]))
    meat <- meat + u %*% t(u)
  }
  Binv %*% meat %*% Binv
}
summ <- function(fit, terms, type, df) {
  V <- if (type == "MD") vcov_md(fit) else vcovCL(fit, cluster = ~participant_id, type = type,
                                                  cadjust = FALSE)
  est <- coef(fit)[terms]; se <- sqrt(diag(V))[terms]
  q <- if (is.null(df)) qnorm(0.975) else qt(0.975, df)
  p <- if (is.null(df)) 2 * pnorm(-abs(est / se)) else 2 * pt(-abs(est / se), df)
  list(terms = terms, estimate = unname(est), se = unname(se), p = unname(p),
       ci_low = unname(est - q * se), ci_high = unname(est + q * se))
}
marg <- lm(outcome ~ stress + ac, a, weights = w)
mod <- lm(outcome ~ stress + weekend + ac + ac:weekend, a, weights = w)
out <- list(
  p_tilde = pt, n_participants = G, n_available = nrow(a),
  # basic WCLS sandwich: vcovCL type = "HC0", cadjust = FALSE, normal inference
  marginal = summ(marg, "ac", "HC0", NULL),
  moderated = summ(mod, c("ac", "weekend:ac"), "HC0", NULL),
  # small-sample: Mancl-DeRouen (vcov_md above), t with G - p - q df
  # (p control terms incl. intercept, q treatment terms)
  marginal_small = summ(marg, "ac", "MD", G - 2 - 1),
  moderated_small = summ(mod, c("ac", "weekend:ac"), "MD", G - 3 - 2)
)
writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE, pretty = TRUE), "mrt.json")
