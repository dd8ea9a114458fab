#!/usr/bin/env Rscript
# Conformance fixtures for spotmeta: reference values produced by R metafor.
#
# Run from the repository root:
#   Rscript tests/conformance/make_fixtures.R
#
# Writes (deterministically; reruns are byte-identical for the same R/metafor):
#   tests/conformance/fixtures/rma.json
#   tests/conformance/fixtures/escalc.json
#   tests/conformance/fixtures/versions.json
#
# Numbers are written as the shortest decimal representation (15, 16 or 17
# significant digits) that parses back to exactly the same IEEE-754 double.
# (jsonlite's digits = NA only writes 15 significant digits, which does not
# always round-trip, so numbers are formatted here and inserted verbatim.)
# NA / NaN / +-Inf / NULL are written as JSON null.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

GENERATED <- "2026-11-23"

args_all <- commandArgs(trailingOnly = FALSE)
script_arg <- sub("^--file=", "", args_all[grepl("^--file=", args_all)])
out_dir <- if (length(script_arg) == 1L) {
  file.path(dirname(normalizePath(script_arg)), "fixtures")
} else {
  file.path("tests", "conformance", "fixtures")
}
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

# ---------------------------------------------------------------------------
# JSON helpers
# ---------------------------------------------------------------------------

# Shortest of %.15g / %.16g / %.17g that parses back to the identical double.
# The round-trip check uses jsonlite's parser (C strtod, correctly rounded);
# R's own as.numeric() is not correctly rounded for some 16/17-digit inputs.
fmt_num <- function(x) {
  x <- as.numeric(x)
  out <- rep("null", length(x))
  fin <- is.finite(x)
  isint <- fin & x == round(x) & abs(x) < 1e15
  out[isint] <- formatC(x[isint], format = "d", big.mark = "")
  todo <- which(fin & !isint)
  for (d in 15:17) {
    if (length(todo) == 0L) break
    s <- sprintf(paste0("%.", d, "g"), x[todo])
    back <- if (d < 17) fromJSON(paste0("[", paste(s, collapse = ","), "]")) else x[todo]
    ok <- back == x[todo]
    out[todo[ok]] <- s[ok]
    todo <- todo[!ok]
  }
  out
}
fmt_num1 <- function(x) {
  if (is.null(x) || length(x) == 0L) return("null")
  fmt_num(x)
}

# scalar number (or null) inserted verbatim
jnum <- function(x) {
  if (is.null(x) || length(x) == 0L) return(structure("null", class = "json"))
  x <- unname(x)
  stopifnot(length(x) == 1L)
  x <- suppressWarnings(as.numeric(x))
  structure(fmt_num1(x), class = "json")
}

# numeric array (always an array, even of length 1)
jarr <- function(x) {
  x <- as.numeric(unname(x))
  structure(paste0("[", paste(fmt_num(x), collapse = ", "), "]"),
            class = "json")
}

write_fixture <- function(x, name) {
  txt <- toJSON(x, json_verbatim = TRUE, auto_unbox = TRUE, pretty = TRUE,
                null = "null", na = "null", digits = NA)
  path <- file.path(out_dir, name)
  con <- file(path, open = "wb")
  writeLines(txt, con, sep = "\n", useBytes = TRUE)
  close(con)
  invisible(path)
}

# evaluate expr, collecting warnings; returns list(value, error, warnings)
capture <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(msg = conditionMessage(e)),
                                                 class = "captured_error")),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  if (inherits(val, "captured_error")) {
    return(list(value = NULL, error = gsub("\\s+", " ", val$msg), warnings = unique(warns)))
  }
  list(value = val, error = NULL, warnings = unique(warns))
}

skipped <- list()
add_skip <- function(kind, what, msg) {
  skipped[[length(skipped) + 1L]] <<- list(kind = kind, case = what,
                                            error = gsub("\\s+", " ", msg))
}

# ---------------------------------------------------------------------------
# rma datasets
# ---------------------------------------------------------------------------

rma_sets <- list()
add_set <- function(label, source, dat, nmax = 20L) {
  dat <- head(as.data.frame(dat), nmax)
  yi <- as.numeric(dat$yi)
  vi <- as.numeric(dat$vi)
  ok <- !is.na(yi) & !is.na(vi)
  rma_sets[[length(rma_sets) + 1L]] <<- list(dataset = label, source = source,
                                             yi = yi[ok], vi = vi[ok])
}

add_set("dat.bcg",
        "metadat dat.bcg; escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)",
        escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg))
add_set("dat.normand1999",
        "metadat dat.normand1999; escalc(measure='SMD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)",
        escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
               m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999))
add_set("dat.hackshaw1998",
        "metadat dat.hackshaw1998; yi/vi as given in the data set; first 20 rows",
        dat.hackshaw1998)
add_set("dat.raudenbush1985",
        "metadat dat.raudenbush1985; yi/vi as given in the data set",
        dat.raudenbush1985)
add_set("dat.molloy2014",
        "metadat dat.molloy2014; escalc(measure='ZCOR', ri=ri, ni=ni, data=dat.molloy2014)",
        escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014))
add_set("dat.pritz1997",
        "metadat dat.pritz1997; escalc(measure='PLO', xi=xi, ni=ni, data=dat.pritz1997)",
        escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997))
add_set("dat.curtis1998",
        "metadat dat.curtis1998; escalc(measure='ROM', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.curtis1998); first 20 rows",
        escalc(measure = "ROM", m1i = m1i, sd1i = sd1i, n1i = n1i,
               m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.curtis1998))
add_set("dat.li2007",
        "metadat dat.li2007; escalc(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.li2007) (defaults add=1/2, to='only0'); first 20 rows; rows with NA yi/vi dropped",
        escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007))
add_set("dat.yusuf1985",
        "metadat dat.yusuf1985; escalc(measure='OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.yusuf1985, subset=(table=='6')) (defaults add=1/2, to='only0'); first 20 rows; rows with NA yi/vi dropped",
        escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i,
               data = dat.yusuf1985, subset = (table == "6")))
add_set("dat.linde2005",
        "metadat dat.linde2005; escalc(measure='RR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.linde2005); first 20 rows; rows with NA yi/vi dropped",
        escalc(measure = "RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.linde2005))

# synthetic edge cases
add_set("synthetic_k2", "synthetic: yi=c(0.1,0.5), vi=c(0.04,0.09)",
        data.frame(yi = c(0.1, 0.5), vi = c(0.04, 0.09)))
add_set("synthetic_k3_equal_yi",
        "synthetic: yi=c(0.3,0.3,0.3), vi=c(0.01,0.02,0.05) (all yi equal; tau2 on boundary 0)",
        data.frame(yi = c(0.3, 0.3, 0.3), vi = c(0.01, 0.02, 0.05)))
add_set("synthetic_k5_large_het",
        "synthetic: yi=c(-1,0.2,1.5,2.8,0.4), vi=c(0.02,0.05,0.01,0.08,0.03) (large heterogeneity)",
        data.frame(yi = c(-1, 0.2, 1.5, 2.8, 0.4), vi = c(0.02, 0.05, 0.01, 0.08, 0.03)))
add_set("synthetic_k4_tiny_vi",
        "synthetic: yi=c(0.11,0.12,0.10,0.13), vi=c(1e-4,2e-4,1.5e-4,3e-4) (tiny variances)",
        data.frame(yi = c(0.11, 0.12, 0.10, 0.13), vi = c(1e-4, 2e-4, 1.5e-4, 3e-4)))
set.seed(20261123)
vi10 <- runif(10, 0.01, 0.2)
yi10 <- rnorm(10, 0.3, sqrt(vi10 + 0.05))
add_set("synthetic_k10_random",
        "synthetic: set.seed(20261123); vi=runif(10,0.01,0.2); yi=rnorm(10,0.3,sqrt(vi+0.05)) (R default RNGkind)",
        data.frame(yi = yi10, vi = vi10))
set.seed(42)
vi20 <- runif(20, 0.01, 0.2)
yi20 <- rnorm(20, 0.3, sqrt(vi20 + 0.1))
add_set("synthetic_k20_random",
        "synthetic: set.seed(42); vi=runif(20,0.01,0.2); yi=rnorm(20,0.3,sqrt(vi+0.1)) (R default RNGkind)",
        data.frame(yi = yi20, vi = vi20))

# ---------------------------------------------------------------------------
# rma fits
# ---------------------------------------------------------------------------

METHODS <- c("FE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")
TESTS <- c("z", "knha", "adhoc")
RMA_CONTROL <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000, stepadj = 0.5)
CI_CONTROL <- list(tol = 1e-12, maxiter = 10000)

ci_val <- function(ci, row, col) {
  if (is.null(ci)) return(jnum(NULL))
  v <- ci[row, col]
  jnum(v)
}

fit_case <- function(set, method, test) {
  yi <- set$yi
  vi <- set$vi
  label <- sprintf("%s %s %s", set$dataset, method, test)
  res <- capture(rma(yi, vi, method = method, test = test, level = 95,
                     control = RMA_CONTROL))
  if (!is.null(res$error)) {
    add_skip("rma", label, res$error)
    return(NULL)
  }
  fit <- res$value
  warns <- res$warnings

  pr <- capture(predict(fit))
  warns <- c(warns, pr$warnings)
  pi_lb <- if (is.null(pr$value)) NULL else pr$value$pi.lb
  pi_ub <- if (is.null(pr$value)) NULL else pr$value$pi.ub

  ci_random <- NULL
  if (method != "FE") {
    cr <- capture(confint(fit, control = CI_CONTROL))
    warns <- c(warns, paste("confint:", cr$warnings)[length(cr$warnings) > 0])
    if (!is.null(cr$error)) {
      warns <- c(warns, paste("confint error:", cr$error))
    } else if (!is.null(cr$value$random)) {
      ci_random <- cr$value$random
    }
  }

  w <- 1 / vi
  k <- length(vi)
  s2 <- (k - 1) * sum(w) / (sum(w)^2 - sum(w^2))

  iter <- if (!is.null(fit$iter)) fit$iter else NULL

  expected <- list(
    k = jnum(fit$k),
    estimate = jnum(fit$beta[1, 1]),
    se = jnum(fit$se),
    zval = jnum(fit$zval),
    pval = jnum(fit$pval),
    ci_lb = jnum(fit$ci.lb),
    ci_ub = jnum(fit$ci.ub),
    pi_lb = jnum(pi_lb),
    pi_ub = jnum(pi_ub),
    tau2 = jnum(fit$tau2),
    se_tau2 = jnum(fit$se.tau2),
    tau = jnum(sqrt(fit$tau2)),
    tau2_ci_lb = ci_val(ci_random, "tau^2", "ci.lb"),
    tau2_ci_ub = ci_val(ci_random, "tau^2", "ci.ub"),
    tau_ci_lb = ci_val(ci_random, "tau", "ci.lb"),
    tau_ci_ub = ci_val(ci_random, "tau", "ci.ub"),
    I2 = jnum(fit$I2),
    I2_ci_lb = ci_val(ci_random, "I^2(%)", "ci.lb"),
    I2_ci_ub = ci_val(ci_random, "I^2(%)", "ci.ub"),
    H2 = jnum(fit$H2),
    H2_ci_lb = ci_val(ci_random, "H^2", "ci.lb"),
    H2_ci_ub = ci_val(ci_random, "H^2", "ci.ub"),
    Q = jnum(fit$QE),
    Q_df = jnum(fit$k - fit$p),
    Q_pval = jnum(fit$QEp),
    s2 = jnum(s2),
    iter = jnum(iter)
  )
  list(
    dataset = set$dataset,
    source = set$source,
    yi = jarr(yi),
    vi = jarr(vi),
    method = method,
    test = test,
    level = jnum(95),
    expected = expected,
    warnings = I(unique(as.character(warns)))
  )
}

rma_cases <- list()
for (set in rma_sets) {
  for (method in METHODS) {
    for (test in TESTS) {
      cs <- fit_case(set, method, test)
      if (!is.null(cs)) rma_cases[[length(rma_cases) + 1L]] <- cs
    }
  }
}
# k = 1: FE with z test only
cs <- fit_case(list(dataset = "synthetic_k1", source = "synthetic: yi=0.4, vi=0.04 (FE, z only)",
                    yi = 0.4, vi = 0.04), "FE", "z")
if (!is.null(cs)) rma_cases[[length(rma_cases) + 1L]] <- cs

write_fixture(rma_cases, "rma.json")

# ---------------------------------------------------------------------------
# escalc cases
# ---------------------------------------------------------------------------

escalc_cases <- list()
add_escalc <- function(measure, source, vtype, inputs, call_fn) {
  res <- capture(call_fn())
  if (!is.null(res$error)) {
    add_skip("escalc", source, res$error)
    return(invisible(NULL))
  }
  es <- res$value
  escalc_cases[[length(escalc_cases) + 1L]] <<- list(
    measure = measure,
    source = source,
    vtype = vtype,
    inputs = lapply(inputs, jarr),
    expected = list(yi = jarr(es$yi), vi = jarr(es$vi)),
    warnings = I(unique(as.character(res$warnings)))
  )
}

nd <- dat.normand1999
nd_in <- list(m1i = nd$m1i, sd1i = nd$sd1i, n1i = nd$n1i,
              m2i = nd$m2i, sd2i = nd$sd2i, n2i = nd$n2i)

add_escalc("SMD", "metadat dat.normand1999; escalc(measure='SMD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999) (default vtype='LS')",
           "LS", nd_in,
           function() escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                             m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999))

smd_syn <- list(m1i = c(10.2, 5.0, 3.1, 0.8, 22.5, 1.0),
                sd1i = c(2.1, 1.5, 1.0, 0.4, 6.0, 2.0),
                n1i = c(3, 3, 5, 10, 25, 60),
                m2i = c(9.0, 6.2, 2.5, 0.8, 18.0, 0.2),
                sd2i = c(1.8, 1.9, 1.3, 0.5, 5.5, 1.7),
                n2i = c(3, 4, 5, 12, 30, 55))
add_escalc("SMD", "synthetic; escalc(measure='SMD', m1i, sd1i, n1i, m2i, sd2i, n2i) with m1i=c(10.2,5,3.1,0.8,22.5,1), sd1i=c(2.1,1.5,1,0.4,6,2), n1i=c(3,3,5,10,25,60), m2i=c(9,6.2,2.5,0.8,18,0.2), sd2i=c(1.8,1.9,1.3,0.5,5.5,1.7), n2i=c(3,4,5,12,30,55) (default vtype='LS'; includes n=3 per arm)",
           "LS", smd_syn,
           function() with(smd_syn, escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                                            m2i = m2i, sd2i = sd2i, n2i = n2i)))

add_escalc("MD", "metadat dat.normand1999; escalc(measure='MD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999) (default vtype='LS': vi = sd1i^2/n1i + sd2i^2/n2i)",
           "LS", nd_in,
           function() escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                             m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999))
add_escalc("MD", "metadat dat.normand1999; escalc(measure='MD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, vtype='HO', data=dat.normand1999) (homoscedastic: pooled SD^2 * (1/n1i + 1/n2i))",
           "HO", nd_in,
           function() escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                             m2i = m2i, sd2i = sd2i, n2i = n2i, vtype = "HO", data = dat.normand1999))
# vtype 'HE' was requested; metafor 3.8-1 has no such vtype (MD accepts 'UB','LS','HO'); recorded as skipped.
add_escalc("MD", "metadat dat.normand1999; escalc(measure='MD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, vtype='HE', data=dat.normand1999)",
           "HE", nd_in,
           function() escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                             m2i = m2i, sd2i = sd2i, n2i = n2i, vtype = "HE", data = dat.normand1999))

smcr_syn <- list(m1i = c(12.4, 30.1, 5.5, 101.0, 7.2, 0.9),
                 m2i = c(10.0, 28.0, 5.9, 95.5, 6.0, 0.4),
                 sd1i = c(3.1, 6.5, 1.2, 15.0, 2.2, 0.6),
                 ni = c(4, 10, 15, 25, 40, 8),
                 ri = c(0.2, 0.5, 0.9, 0.65, 0.35, 0.8))
add_escalc("SMCR", "synthetic; escalc(measure='SMCR', m1i, m2i, sd1i, ni, ri) with m1i (post)=c(12.4,30.1,5.5,101,7.2,0.9), m2i (pre)=c(10,28,5.9,95.5,6,0.4), sd1i (pre SD)=c(3.1,6.5,1.2,15,2.2,0.6), ni=c(4,10,15,25,40,8), ri=c(0.2,0.5,0.9,0.65,0.35,0.8) (default vtype='LS')",
           "LS", smcr_syn,
           function() with(smcr_syn, escalc(measure = "SMCR", m1i = m1i, m2i = m2i,
                                            sd1i = sd1i, ni = ni, ri = ri)))

smcc_syn <- list(m1i = c(12.4, 30.1, 5.5, 101.0, 7.2, 0.9),
                 m2i = c(10.0, 28.0, 5.9, 95.5, 6.0, 0.4),
                 sd1i = c(3.1, 6.5, 1.2, 15.0, 2.2, 0.6),
                 sd2i = c(2.8, 7.0, 1.5, 12.5, 2.6, 0.5),
                 ni = c(4, 10, 15, 25, 40, 8),
                 ri = c(0.2, 0.5, 0.9, 0.65, 0.35, 0.8))
add_escalc("SMCC", "synthetic; escalc(measure='SMCC', m1i, m2i, sd1i, sd2i, ni, ri) with m1i=c(12.4,30.1,5.5,101,7.2,0.9), m2i=c(10,28,5.9,95.5,6,0.4), sd1i=c(3.1,6.5,1.2,15,2.2,0.6), sd2i=c(2.8,7,1.5,12.5,2.6,0.5), ni=c(4,10,15,25,40,8), ri=c(0.2,0.5,0.9,0.65,0.35,0.8) (default vtype='LS')",
           "LS", smcc_syn,
           function() with(smcc_syn, escalc(measure = "SMCC", m1i = m1i, m2i = m2i,
                                            sd1i = sd1i, sd2i = sd2i, ni = ni, ri = ri)))

ti_syn <- list(ti = c(2.1, -1.3, 0.45, 3.8), n1i = c(10, 20, 4, 50), n2i = c(12, 18, 5, 45))
add_escalc("SMD", "synthetic; escalc(measure='SMD', ti=c(2.1,-1.3,0.45,3.8), n1i=c(10,20,4,50), n2i=c(12,18,5,45)) (t statistics; default vtype='LS')",
           "LS", ti_syn,
           function() with(ti_syn, escalc(measure = "SMD", ti = ti, n1i = n1i, n2i = n2i)))

pi_syn <- list(pi = c(0.01, 0.2, 0.5, 0.003), n1i = c(10, 20, 4, 50), n2i = c(12, 18, 5, 45))
add_escalc("SMD", "synthetic; escalc(measure='SMD', pi=c(0.01,0.2,0.5,0.003), n1i=c(10,20,4,50), n2i=c(12,18,5,45)) (two-sided p-values; default vtype='LS')",
           "LS", pi_syn,
           function() with(pi_syn, escalc(measure = "SMD", pi = pi, n1i = n1i, n2i = n2i)))

sei_syn <- list(yi = c(0.1, -0.25, 1.3, 0.0), sei = c(0.3, 0.05, 1.1, 0.2))
add_escalc("GEN", "synthetic; escalc(yi=c(0.1,-0.25,1.3,0), sei=c(0.3,0.05,1.1,0.2)) (measure defaults to 'GEN'; vi = sei^2)",
           "LS", sei_syn,
           function() with(sei_syn, escalc(yi = yi, sei = sei)))

write_fixture(escalc_cases, "escalc.json")

# ---------------------------------------------------------------------------
# versions
# ---------------------------------------------------------------------------

versions <- list(
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat")),
  jsonlite = as.character(packageVersion("jsonlite")),
  RNGkind = I(RNGkind()),
  generated = GENERATED,
  rma_control = list(threshold = jnum(1e-12), tol = jnum(1e-12), maxiter = jnum(10000), stepadj = jnum(0.5)),
  confint_control = list(tol = jnum(1e-12), maxiter = jnum(10000)),
  n_rma_cases = length(rma_cases),
  n_escalc_cases = length(escalc_cases),
  skipped = I(skipped)
)
write_fixture(versions, "versions.json")

cat(sprintf("wrote %d rma cases, %d escalc cases, %d skipped to %s\n",
            length(rma_cases), length(escalc_cases), length(skipped), out_dir))
