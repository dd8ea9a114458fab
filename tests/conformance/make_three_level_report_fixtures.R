# The report's primary analysis when it can run (issue #8): every outcome of
# tests/fixtures/three_level.csv (10 outcomes from 5 synthetic studies),
# effect sizes re-derived here on the raw-score metric (issue #16) from the
# raw columns with the published formulas in dppc2_formulas.R (Morris 2008
# d_ppc2 for parallel trials, its within-subject analogue otherwise; control
# minus trained change, so positive = more fat lost in the trained region;
# pre-test SDs from the change SDs with r_prepost = 0.5 imputed), pooled with
# rma.mv(random = ~ 1 | study_id/id) (REML), CR2 + Satterthwaite df
# (robust(..., clubSandwich = TRUE), clubSandwich 0.5.8), the prediction
# interval of predict() on the robust fit, the forest-plot weights
# (weights(), type "diagonal"), and the one-outcome-per-cohort sensitivity row
# (rma(), REML + Knapp-Hartung on the primary outcomes), and one fit per
# design for the subgroup diamonds of `forest --by design`.
# Writes fixtures/three_level_report.json.
# Run from the repository root:
#   Rscript tests/conformance/make_three_level_report_fixtures.R
suppressMessages({ library(metafor); library(clubSandwich); library(jsonlite) })
num <- function(x) if (length(x) == 0 || all(is.na(x))) NULL else unname(c(x))
d <- read.csv("tests/fixtures/three_level.csv", stringsAsFactors = FALSE)
source("tests/conformance/dppc2_formulas.R")
es <- do.call(rbind, lapply(seq_len(nrow(d)), function(i) {
  e <- raw_effect(as.list(d[i, ]), 0.5)$es
  data.frame(yi = e[["yi"]], vi = e[["vi"]])
}))
d$yi <- es$yi; d$vi <- es$vi; d$id <- seq_len(nrow(d))
fit <- rma.mv(yi, vi, random = ~ 1 | study_id/id, data = d,
              control = list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000))
prof <- function(s) unname(confint(fit, sigma2 = s, control = list(tol = 1e-10))$random[1, 2:3])
rob <- robust(fit, cluster = d$study_id, clubSandwich = TRUE)
pr <- predict(rob)
p <- d$primary == "yes"
one <- rma(yi, vi, data = d[p, ], test = "knha",
           control = list(threshold = 1e-12, tol = 1e-12, maxiter = 10000))
# `spotmeta forest --by design`: one three-level + CR2 fit per design.
by_design <- lapply(split(d, d$design), function(s) {
  f <- rma.mv(yi, vi, random = ~ 1 | study_id/id, data = s,
              control = list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000))
  r <- robust(f, cluster = s$study_id, clubSandwich = TRUE)
  list(k = f$k, estimate = num(r$beta), ci.lb = num(r$ci.lb), ci.ub = num(r$ci.ub))
})
out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
    clubSandwich = as.character(packageVersion("clubSandwich")), generated = "2026-11-23"),
  yi = num(d$yi), vi = num(d$vi), cluster = d$study_id,
  sigma2 = num(fit$sigma2), sigma2_ci = list(prof(1), prof(2)),
  beta = num(fit$beta), se = num(fit$se), QE = num(fit$QE),
  robust = list(se = num(rob$se), tval = num(rob$zval), df = num(rob$ddf), pval = num(rob$pval),
    ci.lb = num(rob$ci.lb), ci.ub = num(rob$ci.ub)),
  pi = c(num(pr$pi.lb), num(pr$pi.ub)),
  weights = num(weights(fit)),
  by_design = by_design,
  one_per_study = list(k = one$k, estimate = num(one$beta), ci.lb = num(one$ci.lb),
    ci.ub = num(one$ci.ub), tau2 = num(one$tau2)))
write_json(out, "tests/conformance/fixtures/three_level_report.json", digits = I(15),
  auto_unbox = TRUE, pretty = TRUE, null = "null")
cat("fixture written\n")
