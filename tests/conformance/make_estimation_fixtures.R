#!/usr/bin/env Rscript
# Estimation fixtures for issue #14 (global maximum of the (restricted)
# likelihood, k = 1 output) from R metafor on small subsets of the BCG trials
# (datasets/colditz1994_bcg.csv, rows numbered 1-13 as in the file).
#
# Run from the repository root:
#   Rscript tests/conformance/make_estimation_fixtures.R
# Writes tests/conformance/fixtures/estimation.json (deterministic).
#
# Each likelihood case also carries an independent global maximum: the
# (restricted) log-likelihood written out below, maximised on a fine
# log-spaced grid over [1e-8, 1e3] and refined with optimize() around the
# best grid point, compared with tau^2 = 0. metafor's own answer is kept next
# to it: for these sets metafor's Fisher scoring reaches the global maximum.
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})
CTRL <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
bcg <- read.csv(file.path("datasets", "colditz1994_bcg.csv"))

loglik <- function(y, v, t, reml) {
  w <- 1 / (v + t)
  mu <- sum(w * y) / sum(w)
  k <- length(y)
  ll <- -0.5 * sum(log(v + t)) - 0.5 * sum(w * (y - mu)^2)
  if (reml) ll - 0.5 * log(sum(w)) - 0.5 * (k - 1) * log(2 * pi) + 0.5 * log(k)
  else ll - 0.5 * k * log(2 * pi)
}
global_max <- function(y, v, reml) {
  f <- function(t) loglik(y, v, t, reml)
  tt <- c(0, 10^seq(-8, 3, length.out = 20001))
  l <- vapply(tt, f, 0)
  i <- which.max(l)
  lo <- tt[max(1, i - 1)]; hi <- tt[min(length(tt), i + 1)]
  o <- optimize(f, c(lo, hi), maximum = TRUE, tol = 1e-14)
  best <- if (o$objective > l[i]) c(o$maximum, o$objective) else c(tt[i], l[i])
  list(tau2 = best[1], loglik = best[2])
}

fit_case <- function(rows, method, test = "z") {
  s <- bcg[rows, ]
  f <- rma(yi, vi, data = s, method = method, test = test, control = CTRL)
  ci <- if (method %in% c("FE", "EE") || length(rows) < 2) NULL else confint(f, control = list(tol = 1e-12))
  g <- if (method %in% c("ML", "REML") && length(rows) > 1) global_max(s$yi, s$vi, method == "REML") else NULL
  list(rows = rows, method = method, test = test,
       tau2 = f$tau2, estimate = as.numeric(f$b), se = f$se, ci_lb = f$ci.lb,
       ci_ub = f$ci.ub, pval = f$pval, loglik = as.numeric(logLik(f)),
       i2 = f$I2, h2 = f$H2, q = f$QE, q_pval = f$QEp,
       tau2_ci_lb = if (is.null(ci)) NA else ci$random[1, 2],
       tau2_ci_ub = if (is.null(ci)) NA else ci$random[1, 3],
       global_tau2 = if (is.null(g)) NA else g$tau2,
       global_loglik = if (is.null(g)) NA else g$loglik,
       loglik_at_zero = if (is.null(g)) NA else loglik(s$yi, s$vi, 0, method == "REML"))
}

# The 3-row set from issue #14 (Hart & Sutherland 1977, Rosenthal et al 1961,
# Comstock & Webster 1969), and an ML k = 5 set with a second maximum at 0.
cases <- list(
  bcg3_reml = fit_case(c(4, 10, 12), "REML"),
  bcg3_reml_knha = fit_case(c(4, 10, 12), "REML", "knha"),
  bcg5_ml = fit_case(c(1, 2, 3, 8, 12), "ML"),
  bcg1 = fit_case(4, "REML")
)

# Downstream consumers on BCG rows 1, 4, 10, 12 (REML): deleting row 1 leaves
# the 3-row set above. cumul in the order 4, 10, 12, 1 passes through it.
s <- bcg[c(1, 4, 10, 12), ]
f <- rma(yi, vi, data = s, method = "REML", control = CTRL)
l1 <- leave1out(f)
inf <- influence(f)
s2 <- bcg[c(4, 10, 12, 1), ]
cu <- cumul(rma(yi, vi, data = s2, method = "REML", control = CTRL))
cases$downstream <- list(
  rows = c(1, 4, 10, 12),
  leave1out_estimate = l1$estimate, leave1out_tau2 = l1$tau2,
  leave1out_ci_lb = l1$ci.lb, leave1out_ci_ub = l1$ci.ub,
  rstudent = inf$inf$rstudent, tau2_del = inf$inf$tau2.del,
  cumul_rows = c(4, 10, 12, 1),
  cumul_estimate = cu$estimate, cumul_tau2 = cu$tau2
)

dir.create(file.path("tests", "conformance", "fixtures"), showWarnings = FALSE)
out <- list(metafor = as.character(packageVersion("metafor")), cases = cases)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           file.path("tests", "conformance", "fixtures", "estimation.json"))
