# Reference values for hwtrial.analysis.factorial: 2^3 effect-coded glm and lm.
# Run from the repo root: Rscript tests/reference/factorial.R (writes factorial.csv/.json)
library(jsonlite)
library(sandwich)
set.seed(2718)
n_p <- 160; k <- 6
part <- data.frame(participant_id = sprintf("p%03d", 1:n_p),
                   remind = rep(c(0, 1), length.out = n_p),
                   review = rep(c(0, 0, 1, 1), length.out = n_p),
                   frame = rep(c("gain", "gain", "gain", "gain", "loss", "loss", "loss", "loss"),
                               length.out = n_p),
                   site = sample(c("s1", "s2"), n_p, replace = TRUE))
part$baseline <- round(rnorm(n_p, 20, 5), 4)
e <- function(x, hi) ifelse(x == hi, 1, -1)
A <- e(part$remind, 1); B <- e(part$review, 1); C <- e(part$frame, "loss")
part$followup <- round(0.5 * part$baseline + 10 - 0.8 * A - 0.5 * B + 0.1 * C + 0.3 * A * B +
  rnorm(n_p, 0, 3), 4)
u <- rnorm(n_p, 0, 0.7)
inst <- part[rep(seq_len(n_p), each = k), ]
eta <- 0.1 + 0.35 * A + 0.2 * B - 0.05 * C + 0.1 * A * B + u
inst$completed <- rbinom(nrow(inst), 1, plogis(eta[rep(seq_len(n_p), each = k)]))
write.csv(inst, "tests/reference/factorial.csv", row.names = FALSE)
inst <- read.csv("tests/reference/factorial.csv")
# +/-1 codes; equivalently contr.sum with the high level as the first factor level
inst$A <- e(inst$remind, 1); inst$B <- e(inst$review, 1); inst$C <- e(inst$frame, "loss")
part <- inst[!duplicated(inst$participant_id), ]
summ <- function(fit, V, dist) {
  b <- coef(fit); se <- sqrt(diag(V))
  p <- if (dist == "z") 2 * pnorm(-abs(b / se)) else 2 * pt(-abs(b / se), fit$df.residual)
  list(names = names(b), estimate = unname(b), se = unname(se), p_value = unname(p))
}
g_full <- glm(completed ~ A * B * C + site, family = binomial, data = inst,
              control = glm.control(epsilon = 1e-14, maxit = 100))
g_two <- glm(completed ~ (A + B + C)^2, family = binomial, data = inst,
             control = glm.control(epsilon = 1e-14, maxit = 100))
l_full <- lm(followup ~ A * B * C + baseline + site, data = part)
# check the contr.sum route gives the same coefficient for A
fA <- factor(part$remind, levels = c(1, 0)); contrasts(fA) <- contr.sum(2)
stopifnot(isTRUE(all.equal(unname(coef(lm(followup ~ fA + baseline, data = part))[2]),
                           unname(coef(lm(followup ~ A + baseline, data = part))[2]))))
write_json(list(
  r_version = R.version.string,
  glm_full_cluster = summ(g_full, vcovCL(g_full, cluster = ~participant_id, type = "HC1",
                                         cadjust = TRUE), "z"),
  glm_full_model = summ(g_full, vcov(g_full), "z"),
  glm_two_way_model = summ(g_two, vcov(g_two), "z"),
  lm_full = summ(l_full, vcov(l_full), "t"),
  lm_full_hc3 = summ(l_full, vcovHC(l_full, type = "HC3"), "t")),
  "tests/reference/factorial.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
