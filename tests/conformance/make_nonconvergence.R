# Random k = 20 data sets on which metafor's default Fisher scoring fails
# ("Fisher scoring algorithm did not converge"), with reference estimates from
# a damped, long run of the same algorithm (stepadj = 0.5, maxiter = 10000,
# threshold = 1e-12), cross-checked against rma.mv's REML/ML (nlminb optimiser).
# Writes fixtures/nonconvergence.json. Run from the repository root:
#   Rscript tests/conformance/make_nonconvergence.R
suppressMessages(library(metafor))
set.seed(1)
out <- list()
for (i in 1:2000) {
  k <- 20
  vi <- runif(k, 0.001, 1)
  yi <- rnorm(k, 0, sqrt(vi + rexp(1, 1)))
  for (m in c("REML", "ML", "EB")) {
    r <- tryCatch(rma(yi, vi, method = m), error = function(e) conditionMessage(e))
    if (!is.character(r)) next
    ref <- rma(yi, vi, method = m, control = list(stepadj = 0.5, maxiter = 10000, threshold = 1e-12))
    mv <- if (m != "EB") {
      id <- seq_len(k)
      fit <- tryCatch(rma.mv(yi, vi, random = ~ 1 | id, method = m, control = list(rel.tol = 1e-12)),
        error = function(e) tryCatch(rma.mv(yi, vi, random = ~ 1 | id, method = m,
          control = list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14)), error = function(e) NULL))
      if (is.null(fit)) NA else fit$sigma2
    } else NA
    out[[length(out) + 1]] <- list(set = i, method = m, metafor_default_error = r,
      yi = yi, vi = vi, tau2 = ref$tau2, estimate = c(ref$beta), se = ref$se,
      tau2_rma_mv = mv)
  }
}
jsonlite::write_json(out, "tests/conformance/fixtures/nonconvergence.json",
  digits = I(17), auto_unbox = TRUE, pretty = TRUE)
cat(length(out), "failing fits written\n")
