# Reference values for hwtrial.analysis.outcomes: ANCOVA (lm, vcovHC), Welch, Hedges' g,
# differential dropout. Run from the repo root: Rscript tests/reference/outcomes.R
library(jsonlite)
library(sandwich)
set.seed(99)
n <- 150
d <- data.frame(participant_id = sprintf("p%03d", 1:n),
                arm = rep(c("control", "remind", "review"), length.out = n),
                site = sample(c("s1", "s2", "s3"), n, replace = TRUE))
d$baseline <- round(rnorm(n, 20, 5), 4)
d$followup <- round(0.6 * d$baseline + c(control = 8, remind = 6.5, review = 5.5)[d$arm] +
  c(s1 = 0, s2 = 1, s3 = -0.5)[d$site] + rnorm(n, 0, 3 + (d$arm == "review")), 4)
d$followup[runif(n) < c(control = 0.08, remind = 0.15, review = 0.25)[d$arm]] <- NA
d$per_protocol <- runif(n) > 0.2
write.csv(d, "tests/reference/outcomes.csv", row.names = FALSE)
d <- read.csv("tests/reference/outcomes.csv")
fit <- lm(followup ~ arm + baseline + site, data = d)
summ <- function(V) {
  b <- coef(fit); se <- sqrt(diag(V)); df <- fit$df.residual; q <- qt(0.975, df)
  list(names = names(b), estimate = unname(b), se = unname(se),
       p_value = unname(2 * pt(-abs(b / se), df)),
       ci_low = unname(b - q * se), ci_high = unname(b + q * se), df = df, n = nobs(fit))
}
ancova <- list(classical = summ(vcov(fit)))
for (ty in c("HC0", "HC1", "HC2", "HC3")) ancova[[ty]] <- summ(vcovHC(fit, type = ty))
pp <- lm(followup ~ arm + baseline + site, data = d[d$per_protocol, ])
ancova_pp <- list(estimate = unname(coef(pp)), se = unname(sqrt(diag(vcov(pp)))), n = nobs(pp))

y1 <- na.omit(d$followup[d$arm == "review"]); y0 <- na.omit(d$followup[d$arm == "control"])
w <- t.test(y1, y0)
# Hedges' g by the Borenstein et al. (2009, ch. 4) formulas
hg <- function(n1, m1, s1, n2, m2, s2) {
  df <- n1 + n2 - 2; sp <- sqrt(((n1 - 1) * s1^2 + (n2 - 1) * s2^2) / df)
  dd <- (m1 - m2) / sp; vd <- (n1 + n2) / (n1 * n2) + dd^2 / (2 * (n1 + n2))
  J <- 1 - 3 / (4 * df - 1); g <- J * dd; se <- J * sqrt(vd)
  list(g = g, se = se, ci = g + c(-1, 1) * qnorm(0.975) * se, d = dd, J = J,
       p_value = t.test(y1, y0, var.equal = TRUE)$p.value)
}
g <- hg(length(y1), mean(y1), sd(y1), length(y0), mean(y0), sd(y0))
tab <- table(d$arm, is.na(d$followup))
cs <- suppressWarnings(chisq.test(tab, correct = FALSE))
write_json(list(
  r_version = R.version.string, sandwich_version = as.character(packageVersion("sandwich")),
  ancova = ancova, ancova_per_protocol = ancova_pp,
  welch = list(estimate = unname(w$estimate[1] - w$estimate[2]), se = w$stderr,
               t = unname(w$statistic), df = unname(w$parameter), p_value = w$p.value,
               ci = as.numeric(w$conf.int)),
  hedges_g = g,
  # Published worked example: Borenstein, Hedges, Higgins & Rothstein (2009),
  # Introduction to Meta-Analysis, ch. 4 (printed to 4 decimals).
  hedges_g_borenstein_2009 = list(n1 = 50, m1 = 103, s1 = 5.5, n2 = 50, m2 = 100, s2 = 4.5,
                                  d = 0.5970, J = 0.9923, g = 0.5924, se_g = 0.2028),
  missing = list(arms = rownames(tab), n_missing = unname(tab[, "TRUE"]),
                 n = unname(rowSums(tab)), chi2 = unname(cs$statistic),
                 df = unname(cs$parameter), p_value = cs$p.value)),
  "tests/reference/outcomes.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
