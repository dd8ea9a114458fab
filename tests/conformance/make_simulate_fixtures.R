# `spotmeta simulate` (issue #7) against metafor 3.8.1 on the same data: the
# 200 simulated meta-analyses of tests/fixtures/simulate_k5.csv (written by
#   spotmeta simulate --k 5 --tau2 0.1 --mu 0.2 --reps 200 --seed 1 \
#     --write-data tests/fixtures/simulate_k5.csv
# ) are each pooled with rma(method = REML / DL, test = z / knha / adhoc) and
# predict(); the counts of intervals covering mu = 0.2 (CI) and theta_new (PI),
# the mean widths and the mean tau^2 are written to fixtures/simulate.json.
# Run from the repository root: Rscript tests/conformance/make_simulate_fixtures.R
suppressMessages({ library(metafor); library(jsonlite) })
d <- read.csv("tests/fixtures/simulate_k5.csv")
MU <- 0.2
CT <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
one <- function(method) {
  per <- lapply(split(d, d$rep), function(g) {
    fits <- lapply(c("z", "knha", "adhoc"), function(t) rma(g$yi, g$vi, method = method, test = t, control = CT))
    ci <- sapply(fits, function(f) c(f$ci.lb <= MU && MU <= f$ci.ub, f$ci.ub - f$ci.lb))
    pi <- sapply(fits[1:2], function(f) { p <- predict(f); th <- g$theta_new[1]
      c(p$pi.lb <= th && th <= p$pi.ub, p$pi.ub - p$pi.lb) })
    list(ci = ci, pi = pi, tau2 = fits[[1]]$tau2)
  })
  ci <- Reduce(`+`, lapply(per, `[[`, "ci")); pi <- Reduce(`+`, lapply(per, `[[`, "pi"))
  tau2 <- sapply(per, `[[`, "tau2"); n <- length(per)
  list(method = method, fits = n, ci_covered = unname(ci[1, ]), ci_mean_width = unname(ci[2, ] / n),
       pi_covered = unname(pi[1, ]), pi_mean_width = unname(pi[2, ] / n),
       tau2_mean = mean(tau2), tau2_zero = mean(tau2 < 1e-10))  # metafor stops at ~1e-13 where the REML optimum is 0
}
write_json(list(versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
  generated = "2026-11-23"), cases = list(one("REML"), one("DL"))),
  "tests/conformance/fixtures/simulate.json", digits = I(15), auto_unbox = TRUE, pretty = TRUE)
cat("fixture written\n")
