# Three-level models (metafor rma.mv, REML) with profile-likelihood CIs, and
# cluster-robust CR2 inference with Satterthwaite df (robust(..., clubSandwich
# = TRUE), clubSandwich 0.5.8) for rma.mv and rma.uni fits, on metadat's
# dat.konstantopoulos2011 (56 schools in 11 districts) and dat.bcg (13 trials
# clustered by allocation method). Writes fixtures/multilevel.json.
# Run from the repository root: Rscript tests/conformance/make_multilevel_fixtures.R
suppressMessages({ library(metafor); library(clubSandwich); library(jsonlite) })
CTRL <- list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000)
num <- function(x) if (length(x) == 0 || all(is.na(x))) NULL else unname(c(x))
robust_list <- function(r) list(beta = num(r$beta), se = num(r$se), tval = num(r$zval),
  df = num(r$ddf), pval = num(r$pval), ci.lb = num(r$ci.lb), ci.ub = num(r$ci.ub))

out <- list()
k11 <- dat.konstantopoulos2011
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
cases <- list(
  list(name = "konstantopoulos2011", d = k11, cluster = k11$district, mods = NULL),
  list(name = "konstantopoulos2011_year", d = k11, cluster = k11$district, mods = ~ year),
  list(name = "bcg_by_alloc", d = bcg, cluster = as.character(bcg$alloc), mods = NULL))
for (cs in cases) {
  d <- cs$d; d$cl <- cs$cluster; d$id <- seq_len(nrow(d))
  fit <- if (is.null(cs$mods)) rma.mv(yi, vi, random = ~ 1 | cl/id, data = d, control = CTRL)
         else rma.mv(yi, vi, mods = cs$mods, random = ~ 1 | cl/id, data = d, control = CTRL)
  prof <- function(s) tryCatch({
      ci <- confint(fit, sigma2 = s, control = list(tol = 1e-10))$random[1, 2:3]
      if (any(is.na(ci))) NULL else unname(ci)
    }, error = function(e) NULL, warning = function(w) NULL)
  ci1 <- prof(1); ci2 <- prof(2)
  rob <- robust(fit, cluster = d$cl, clubSandwich = TRUE)
  uni <- if (is.null(cs$mods)) rma(yi, vi, data = d, control = list(threshold = 1e-12, tol = 1e-12))
         else rma(yi, vi, mods = cs$mods, data = d, control = list(threshold = 1e-12, tol = 1e-12))
  rob_uni <- robust(uni, cluster = d$cl, clubSandwich = TRUE)
  out[[length(out) + 1]] <- list(
    name = cs$name, yi = num(d$yi), vi = num(d$vi), cluster = as.character(d$cl),
    X = lapply(seq_len(nrow(fit$X)), function(i) I(unname(fit$X[i, ]))),
    multilevel = list(sigma2 = num(fit$sigma2), beta = num(fit$beta), se = num(fit$se),
      zval = num(fit$zval), pval = num(fit$pval), ci.lb = num(fit$ci.lb), ci.ub = num(fit$ci.ub),
      QE = num(fit$QE), logLik = num(logLik(fit)),
      sigma2_ci = list(ci1, ci2)),
    robust_multilevel = robust_list(rob),
    univariate = list(tau2 = num(uni$tau2), beta = num(uni$beta), se = num(uni$se)),
    robust_univariate = robust_list(rob_uni))
}
write_json(list(versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
  clubSandwich = as.character(packageVersion("clubSandwich")), generated = "2026-11-23"), cases = out),
  "tests/conformance/fixtures/multilevel.json", digits = I(15), auto_unbox = TRUE, pretty = TRUE, null = "null")
cat(length(out), "cases written\n")
