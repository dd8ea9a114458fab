# Reference values for issue #14 (meta-regression, three-level model, options),
# written to fixtures/estimation_models.json:
#
# * `global`: one-moderator meta-regressions (k = 5-7, one outlier) whose ML or
#   REML profile likelihood has two or more local maxima over tau^2 >= 0. The
#   reference is NOT metafor's rma(): it is the log-likelihood written out
#   below (with metafor's constants), evaluated on a fine grid (0 and 2,000
#   log-spaced points from 1e-6 to 1e4) and refined with optimize() around
#   every grid-local maximum. metafor's own rma() tau^2 and logLik are stored
#   next to it for comparison.
# * `permutest`: exact permutation tests (metafor permutest(), iter = 1000)
#   for a binary moderator (k = 7: C(7, n1) distinct orderings), a continuous
#   moderator (k = 6) and an intercept-only model (k = 6: 2^6 sign flips).
# * `trimfill_knha`: trimfill() of a Knapp-Hartung fit that finds no missing
#   studies (metafor returns the original knha fit).
# * `multilevel`: rma.mv(method = "ML") and rma.mv(test = "t") on
#   dat.konstantopoulos2011 (with and without the moderator year).
# * `robust_refusal`: metafor's error for robust() with 3 clusters and 3
#   coefficients.
#
# Run from the repository root:
#   Rscript tests/conformance/make_estimation_models_fixtures.R
suppressMessages({ library(metafor); library(jsonlite) })
num <- function(x) unname(c(x))
CTRL <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)

## --- global maxima of the meta-regression likelihood --------------------
loglik <- function(t, y, v, X, reml) {
  w <- 1 / (v + t); A <- crossprod(X, w * X)
  b <- solve(A, crossprod(X, w * y)); r <- y - X %*% b
  k <- length(y); p <- ncol(X)
  if (reml) {
    -0.5 * (k - p) * log(2 * pi) + 0.5 * determinant(crossprod(X))$modulus -
      0.5 * sum(log(v + t)) - 0.5 * determinant(A)$modulus - 0.5 * sum(w * r^2)
  } else {
    -0.5 * k * log(2 * pi) - 0.5 * sum(log(v + t)) - 0.5 * sum(w * r^2)
  }
}
local_maxima <- function(y, v, X, reml) {
  grid <- c(0, 10^seq(-6, 4, length.out = 2000))
  ll <- vapply(grid, function(t) as.numeric(loglik(t, y, v, X, reml)), 0)
  n <- length(grid); out <- list()
  if (ll[1] >= ll[2]) out[[1]] <- c(tau2 = 0, ll = ll[1])
  for (i in 2:(n - 1)) if (ll[i] > ll[i - 1] && ll[i] >= ll[i + 1]) {
    o <- optimize(function(t) as.numeric(loglik(t, y, v, X, reml)),
                  c(grid[i - 1], grid[i + 1]), maximum = TRUE, tol = 1e-14)
    out[[length(out) + 1]] <- c(tau2 = o$maximum, ll = o$objective)
  }
  do.call(rbind, out)
}
set.seed(20261202)
global <- list(); tries <- 0
while (length(global) < 20 && tries < 5000) {
  tries <- tries + 1
  k <- sample(5:7, 1); x <- round(runif(k, 0, 4), 1)
  v <- round(exp(runif(k, log(0.01), log(2))), 4)
  y <- round(0.3 * x + rnorm(k, 0, sqrt(v)), 3)
  j <- sample(k, 1); y[j] <- round(y[j] + sample(c(-1, 1), 1) * runif(1, 1, 4), 3)
  X <- cbind(1, x)
  for (reml in c(TRUE, FALSE)) {
    m <- local_maxima(y, v, X, reml)
    if (nrow(m) < 2) next
    fit <- try(rma(y, v, mods = ~ x, method = if (reml) "REML" else "ML"), silent = TRUE)
    if (inherits(fit, "try-error")) next
    best <- m[which.max(m[, "ll"]), ]
    global[[length(global) + 1]] <- list(
      method = if (reml) "REML" else "ML", yi = y, vi = v, x = x,
      tau2 = num(best["tau2"]), logLik = num(best["ll"]),
      maxima = lapply(seq_len(nrow(m)), function(i) num(m[i, ])),
      metafor = list(tau2 = fit$tau2, logLik = num(logLik(fit))))
  }
}

## --- exact permutation tests ----------------------------------------------
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
perm_case <- function(name, fit, method, test, mods) {
  set.seed(1)
  pt <- permutest(fit, iter = 1000, progbar = FALSE)
  list(name = name, method = method, test = test, mods = mods,
       exact_iter = num(pt$exact.iter), QMp = num(pt$QMp), pval = num(pt$pval),
       zval = num(fit$zval), QM = num(fit$QM))
}
b7 <- bcg[1:7, ]; b7$random <- as.numeric(b7$alloc == "random")
b6 <- bcg[1:6, ]
permutests <- list(
  c(list(yi = num(b7$yi), vi = num(b7$vi), x = num(b7$random)),
    perm_case("bcg[1:7] ~ random allocation (binary)",
      rma(yi, vi, mods = ~ random, data = b7, control = CTRL), "REML", "z", "random")),
  c(list(yi = num(b7$yi), vi = num(b7$vi), x = num(b7$random)),
    perm_case("bcg[1:7] ~ random allocation (binary), knha",
      rma(yi, vi, mods = ~ random, data = b7, test = "knha", control = CTRL), "REML", "knha", "random")),
  c(list(yi = num(b6$yi), vi = num(b6$vi), x = num(b6$ablat)),
    perm_case("bcg[1:6] ~ ablat",
      rma(yi, vi, mods = ~ ablat, data = b6, control = CTRL), "REML", "z", "ablat")),
  c(list(yi = num(b6$yi), vi = num(b6$vi), x = NULL),
    perm_case("bcg[1:6] intercept only (sign flips)",
      rma(yi, vi, data = b6, control = CTRL), "REML", "z", "")))

## --- trimfill of a knha fit with no missing studies ------------------------
tf_fit <- rma(yi, vi, data = bcg[c(3, 4, 5, 7, 8, 10), ], test = "knha", control = CTRL)
tf <- trimfill(tf_fit)
stopifnot(tf$k0 == 0)
trimfill_knha <- list(yi = num(tf_fit$yi), vi = num(tf_fit$vi), k0 = tf$k0,
  test = tf$test, estimate = num(tf$beta), se = num(tf$se), ci.lb = tf$ci.lb,
  ci.ub = tf$ci.ub, pval = tf$pval, tau2 = tf$tau2)

## --- three-level model: ML, and t tests ------------------------------------
k11 <- dat.konstantopoulos2011
MV <- list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000)
mv <- function(name, mods, method, test) {
  f <- if (is.null(mods)) rma.mv(yi, vi, random = ~ 1 | district/school, data = k11,
         method = method, test = test, control = MV)
       else rma.mv(yi, vi, mods = mods, random = ~ 1 | district/school, data = k11,
         method = method, test = test, control = MV)
  list(name = name, method = method, test = test, year = !is.null(mods),
       sigma2 = num(f$sigma2), beta = num(f$beta), se = num(f$se), zval = num(f$zval),
       pval = num(f$pval), ci.lb = num(f$ci.lb), ci.ub = num(f$ci.ub),
       logLik = num(logLik(f)), df = if (test == "t") num(f$ddf[1]) else NULL)
}
multilevel <- list(
  mv("konstantopoulos2011 ML", NULL, "ML", "z"),
  mv("konstantopoulos2011 ~ year ML", ~ year, "ML", "z"),
  mv("konstantopoulos2011 REML t", NULL, "REML", "t"),
  mv("konstantopoulos2011 ~ year REML t", ~ year, "REML", "t"))
multilevel_data <- list(yi = num(k11$yi), vi = num(k11$vi), year = num(k11$year),
  district = as.character(k11$district))

## --- robust() refuses clusters <= coefficients -----------------------------
rb <- rma(yi, vi, mods = ~ ablat + year, data = bcg, control = CTRL)
robust_refusal <- tryCatch({ robust(rb, cluster = bcg$alloc); "no error" },
  error = function(e) conditionMessage(e))

write_json(list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
    generated = "2026-12-02"),
  global = global, permutest = permutests, trimfill_knha = trimfill_knha,
  multilevel_data = multilevel_data, multilevel = multilevel,
  robust_refusal = robust_refusal),
  "tests/conformance/fixtures/estimation_models.json", digits = I(17),
  auto_unbox = TRUE, pretty = TRUE, null = "null")
cat(length(global), "global-maximum cases;", tries, "draws\n")
