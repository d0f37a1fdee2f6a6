# Reference values for hwtrial.analysis.adherence.
# Run from the repo root: Rscript tests/reference/adherence.R (writes adherence.csv/.json)
library(jsonlite)
library(sandwich)
set.seed(20240501)
n_p <- 90; k <- 8
part <- data.frame(participant_id = sprintf("p%03d", 1:n_p),
                   arm = rep(c("control", "remind", "review"), length.out = n_p),
                   site = sample(c("s1", "s2"), n_p, replace = TRUE),
                   therapist_id = sprintf("t%02d", sample(1:12, n_p, replace = TRUE)))
u <- rnorm(n_p, 0, 0.8)
inst <- part[rep(seq_len(n_p), each = k), ]
eta <- -0.2 + c(control = 0, remind = 0.5, review = 0.9)[inst$arm] +
  0.3 * (inst$site == "s2") + u[rep(seq_len(n_p), each = k)]
inst$completed <- rbinom(nrow(inst), 1, plogis(eta))
inst$on_time <- inst$completed * rbinom(nrow(inst), 1, 0.7)
write.csv(inst, "tests/reference/adherence.csv", row.names = FALSE)
inst <- read.csv("tests/reference/adherence.csv")

pooled <- lapply(split(inst, inst$arm), function(g) {
  c1 <- prop.test(sum(g$completed), nrow(g), correct = FALSE)$conf.int
  c2 <- prop.test(sum(g$on_time), nrow(g), correct = FALSE)$conf.int
  list(n = nrow(g), completion = mean(g$completed), completion_ci = as.numeric(c1),
       on_time = mean(g$on_time), on_time_ci = as.numeric(c2))
})
rates <- aggregate(completed ~ arm + participant_id, data = inst, FUN = mean)
participant <- lapply(split(rates$completed, rates$arm), function(x)
  list(n = length(x), mean = mean(x), sd = sd(x), median = median(x),
       q1 = unname(quantile(x, 0.25)), q3 = unname(quantile(x, 0.75))))

fit <- glm(completed ~ arm + site, family = binomial, data = inst,
           control = glm.control(epsilon = 1e-14, maxit = 100))
summ <- function(V) {
  b <- coef(fit); se <- sqrt(diag(V)); z <- qnorm(0.975)
  list(names = names(b), estimate = unname(b), se = unname(se),
       p_value = unname(2 * pnorm(-abs(b / se))),
       or = unname(exp(b)), or_low = unname(exp(b - z * se)), or_high = unname(exp(b + z * se)))
}
models <- list(
  model = summ(vcov(fit)),
  # HC1 + cadjust = G/(G-1) * (N-1)/(N-K): the default of statsmodels cov_type="cluster"
  participant = summ(vcovCL(fit, cluster = ~participant_id, type = "HC1", cadjust = TRUE)),
  two_way = summ(vcovCL(fit, cluster = ~participant_id + therapist_id, type = "HC1",
                        cadjust = TRUE)))
write_json(list(r_version = R.version.string,
                sandwich_version = as.character(packageVersion("sandwich")),
                pooled = pooled, participant = participant, models = models),
           "tests/reference/adherence.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
