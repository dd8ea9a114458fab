#!/usr/bin/env Rscript
# Analysis-level conformance fixtures for spotmeta: leave1out, influence,
# cumul, regtest, trimfill, meta-regression (+ predict) and permutest, as
# computed by R metafor on five metadat datasets.
#
# Run from the repository root:
#   Rscript tests/conformance/make_analysis_fixtures.R
#
# Writes (deterministically; reruns are byte-identical for the same R/metafor):
#   tests/conformance/fixtures/analysis.json
#
# Numbers are written as the shortest of %.15g / %.16g / %.17g that parses
# back to exactly the same IEEE-754 double (same helper as make_fixtures.R).
# NA / NaN / +-Inf are written as JSON null. Numeric vectors are always
# arrays, scalars are always scalars.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

out_path <- file.path("tests", "conformance", "fixtures", "analysis.json")
dir.create(dirname(out_path), showWarnings = FALSE, recursive = TRUE)

CTRL <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)
PERM_SEED <- 1234L
PERM_ITER <- 1000L

# ---------------------------------------------------------------------------
# JSON helpers
# ---------------------------------------------------------------------------

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

# scalar number (or null)
jnum <- function(x) {
  if (is.null(x) || length(x) == 0L) return(structure("null", class = "json"))
  x <- suppressWarnings(as.numeric(unname(x)))
  stopifnot(length(x) == 1L)
  structure(fmt_num(x), class = "json")
}

# numeric array (always an array)
jarr <- function(x) {
  if (is.null(x)) return(structure("null", class = "json"))
  x <- suppressWarnings(as.numeric(unname(x)))
  structure(paste0("[", paste(fmt_num(x), collapse = ", "), "]"), class = "json")
}

# logical array (always an array)
jlgl <- function(x) {
  x <- as.logical(unname(x))
  s <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  structure(paste0("[", paste(s, collapse = ", "), "]"), class = "json")
}

# character array (always an array)
jchr <- function(x) {
  structure(as.character(toJSON(as.character(unname(x)))), class = "json")
}

# matrix as a list of rows
jmat <- function(X) {
  rows <- vapply(seq_len(nrow(X)), function(i) unclass(jarr(X[i, ])), "")
  structure(paste0("[", paste(rows, collapse = ", "), "]"), class = "json")
}

skipped <- list()
safely <- function(label, expr) {
  tryCatch(expr, error = function(e) {
    msg <- gsub("\\s+", " ", conditionMessage(e))
    skipped[[length(skipped) + 1L]] <<- list(case = label, error = msg)
    list(error = msg)
  })
}

# ---------------------------------------------------------------------------
# Datasets (yi/vi as in metafor's documentation examples)
# ---------------------------------------------------------------------------

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg,
              data = dat.bcg, slab = paste(author, year, sep = ", "))
normand <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i,
                  m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999,
                  slab = source)
hackshaw <- dat.hackshaw1998
attr(hackshaw$yi, "slab") <- paste(hackshaw$author, hackshaw$year, sep = ", ")
raud <- dat.raudenbush1985
attr(raud$yi, "slab") <- paste(raud$author, raud$year, sep = ", ")
molloy <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014,
                 slab = paste(authors, year, sep = ", "))

# the study labels exactly as metafor uses them (duplicates made unique by rma)
slab_of <- function(d) {
  as.character(rma(yi, vi, data = d, method = "FE")$slab)
}

DATASETS <- list(
  list(name = "dat.bcg", data = bcg, source = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)",
       slab = "paste(author, year, sep=', ')",
       moderators = list(ablat = bcg$ablat, year = bcg$year, alloc = bcg$alloc),
       metareg = list("~ ablat", "~ ablat + year", "~ factor(alloc)"),
       permutest = list("~ ablat")),
  list(name = "dat.normand1999", data = normand, source = "escalc(measure='SMD', m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999)",
       slab = "source",
       moderators = list(), metareg = list(), permutest = list()),
  list(name = "dat.hackshaw1998", data = hackshaw, source = "yi, vi as given in dat.hackshaw1998",
       slab = "paste(author, year, sep=', ')",
       moderators = list(year = hackshaw$year), metareg = list("~ year"), permutest = list()),
  list(name = "dat.raudenbush1985", data = raud, source = "yi, vi as given in dat.raudenbush1985",
       slab = "paste(author, year, sep=', ')",
       moderators = list(weeks = raud$weeks), metareg = list("~ weeks"), permutest = list()),
  list(name = "dat.molloy2014", data = molloy, source = "escalc(measure='ZCOR', ri=ri, ni=ni, data=dat.molloy2014)",
       slab = "paste(authors, year, sep=', ')",
       moderators = list(), metareg = list(), permutest = list())
)

# ---------------------------------------------------------------------------
# Computations
# ---------------------------------------------------------------------------

fit_int <- function(d, method = "REML", test = "z") {
  rma(yi, vi, data = d, method = method, test = test, control = CTRL)
}

do_leave1out <- function(d, test) {
  l <- leave1out(fit_int(d, "REML", test))
  stat <- if (!is.null(l$tval)) l$tval else l$zval
  list(estimate = jarr(l$estimate), se = jarr(l$se),
       zval = jarr(stat), pval = jarr(l$pval),
       ci.lb = jarr(l$ci.lb), ci.ub = jarr(l$ci.ub),
       Q = jarr(l$Q), Qp = jarr(l$Qp), tau2 = jarr(l$tau2),
       I2 = jarr(l$I2), H2 = jarr(l$H2))
}

do_influence <- function(d) {
  inf <- influence(fit_int(d, "REML", "z"))
  i <- inf$inf
  list(rstudent = jarr(i$rstudent), dffits = jarr(i$dffits),
       cook.d = jarr(i$cook.d), cov.r = jarr(i$cov.r),
       tau2.del = jarr(i$tau2.del), QE.del = jarr(i$QE.del),
       hat = jarr(i$hat), weight = jarr(i$weight),
       dfbs = jarr(inf$dfbs$intrcpt), is.infl = jlgl(inf$is.infl))
}

do_cumul <- function(d) {
  fit <- fit_int(d, "REML", "z")
  if (!is.null(d$year)) {
    ord_by <- "year"
    cu <- cumul(fit, order = year)
    ord <- order(d$year)
  } else {
    ord_by <- "yi"
    key <- as.numeric(d$yi)
    cu <- cumul(fit, order = key)
    ord <- order(key)
  }
  stopifnot(isTRUE(all.equal(as.character(cu$slab), slab_of(d)[ord])))
  list(order_by = ord_by, order = jarr(ord),
       estimate = jarr(cu$estimate), se = jarr(cu$se),
       ci.lb = jarr(cu$ci.lb), ci.ub = jarr(cu$ci.ub), pval = jarr(cu$pval),
       tau2 = jarr(cu$tau2), I2 = jarr(cu$I2), H2 = jarr(cu$H2), QE = jarr(cu$Q))
}

reg_out <- function(r) {
  list(model = r$model, predictor = r$predictor,
       zval = jnum(r$zval), pval = jnum(r$pval), dfs = jnum(r$dfs),
       est = jnum(r$est), ci.lb = jnum(r$ci.lb), ci.ub = jnum(r$ci.ub),
       fit_beta = jarr(coef(r$fit)),
       fit_se = jarr(if (inherits(r$fit, "lm")) summary(r$fit)$coefficients[, 2] else r$fit$se),
       fit_tau2 = jnum(if (inherits(r$fit, "rma")) r$fit$tau2 else NA))
}

do_regtest <- function(d, kind) {
  switch(kind,
    rma_REML = reg_out(regtest(fit_int(d, "REML", "z"))),
    rma_FE   = reg_out(regtest(fit_int(d, "FE", "z"))),
    lm       = reg_out(regtest(fit_int(d, "REML", "z"), model = "lm")))
}

do_trimfill <- function(d, method) {
  tf <- trimfill(fit_int(d, method, "z"))
  list(fit_method = method, estimator = "L0",
       k0 = jnum(tf$k0), se.k0 = jnum(tf$se.k0), side = tf$side,
       k = jnum(tf$k),
       estimate = jnum(tf$beta), se = jnum(tf$se), zval = jnum(tf$zval),
       pval = jnum(tf$pval), ci.lb = jnum(tf$ci.lb), ci.ub = jnum(tf$ci.ub),
       tau2 = jnum(tf$tau2), QE = jnum(tf$QE),
       fill_yi = jarr(tf$yi[tf$fill]), fill_vi = jarr(tf$vi[tf$fill]),
       # trimfill()'s own refit ignores the fit's control list (default
       # threshold 1e-5); the same refit at full precision:
       refit_tight = {
         r <- rma(tf$yi, tf$vi, method = method, control = CTRL)
         list(estimate = jnum(r$beta), se = jnum(r$se), ci.lb = jnum(r$ci.lb),
              ci.ub = jnum(r$ci.ub), tau2 = jnum(r$tau2), QE = jnum(r$QE))
       })
}

do_metareg <- function(d, formula, method, test) {
  fit <- rma(yi, vi, mods = as.formula(formula), data = d, method = method,
             test = test, control = CTRL)
  X <- fit$X
  nm <- colMeans(X[, -1, drop = FALSE])
  pr <- predict(fit, newmods = nm)
  list(formula = formula, X = jmat(X), colnames = jchr(colnames(X)),
       method = method, test = test,
       expected = list(
         beta = jarr(fit$beta), se = jarr(fit$se), zval = jarr(fit$zval),
         pval = jarr(fit$pval), ci.lb = jarr(fit$ci.lb), ci.ub = jarr(fit$ci.ub),
         tau2 = jnum(fit$tau2), se.tau2 = jnum(fit$se.tau2),
         I2 = jnum(fit$I2), H2 = jnum(fit$H2), R2 = jnum(fit$R2),
         QE = jnum(fit$QE), QEp = jnum(fit$QEp),
         QM = jnum(fit$QM), QMp = jnum(fit$QMp), QMdf = jarr(fit$QMdf),
         k = jnum(fit$k), p = jnum(fit$p),
         predict = list(newmods = jarr(nm), pred = jnum(pr$pred), se = jnum(pr$se),
                        ci.lb = jnum(pr$ci.lb), ci.ub = jnum(pr$ci.ub),
                        pi.lb = jnum(pr$pi.lb), pi.ub = jnum(pr$pi.ub))))
}

do_permutest <- function(d, formula, test) {
  fit <- rma(yi, vi, mods = as.formula(formula), data = d, method = "REML",
             test = test, control = CTRL)
  set.seed(PERM_SEED)
  pt <- suppressMessages(permutest(fit, iter = PERM_ITER, progbar = FALSE))
  list(formula = formula, method = "REML", test = test,
       iter = PERM_ITER, seed = PERM_SEED, exact = isTRUE(pt$exact.iter < PERM_ITER),
       exact.iter = jnum(pt$exact.iter),
       QM = jnum(pt$QM), QMp = jnum(pt$QMp), pval = jarr(pt$pval),
       beta = jarr(pt$beta), zval = jarr(pt$zval),
       QMp_model = jnum(fit$QMp), pval_model = jarr(fit$pval))
}

# ---------------------------------------------------------------------------
# Main loop
# ---------------------------------------------------------------------------

RNGkind("Mersenne-Twister", "Inversion", "Rejection")

out_ds <- list()
for (ds in DATASETS) {
  d <- ds$data
  nm <- ds$name
  lab <- function(s) paste0(nm, ": ", s)
  mods <- lapply(ds$moderators, function(m) if (is.numeric(m)) jarr(m) else jchr(m))
  entry <- list(
    dataset = nm, source = ds$source, slab_source = ds$slab,
    yi = jarr(d$yi), vi = jarr(d$vi), slab = jchr(slab_of(d)),
    year = if (!is.null(d$year)) jarr(d$year) else NULL,
    moderators = if (length(mods)) mods else structure("{}", class = "json"),
    leave1out = list(
      z = safely(lab("leave1out z"), do_leave1out(d, "z")),
      knha = safely(lab("leave1out knha"), do_leave1out(d, "knha"))),
    influence = safely(lab("influence"), do_influence(d)),
    cumul = safely(lab("cumul"), do_cumul(d)),
    regtest = list(
      rma_REML = safely(lab("regtest rma_REML"), do_regtest(d, "rma_REML")),
      rma_FE = safely(lab("regtest rma_FE"), do_regtest(d, "rma_FE")),
      lm = safely(lab("regtest lm"), do_regtest(d, "lm"))),
    trimfill = list(
      REML = safely(lab("trimfill REML"), do_trimfill(d, "REML")),
      FE = safely(lab("trimfill FE"), do_trimfill(d, "FE")))
  )
  mr <- list()
  for (f in ds$metareg) for (m in c("REML", "ML", "DL")) for (t in c("z", "knha")) {
    mr[[length(mr) + 1L]] <- safely(lab(paste("metareg", f, m, t)),
                                    do_metareg(d, f, m, t))
  }
  entry$metareg <- if (length(mr)) mr else structure("[]", class = "json")
  pm <- list()
  for (f in ds$permutest) for (t in c("z", "knha")) {
    pm[[length(pm) + 1L]] <- safely(lab(paste("permutest", f, t)),
                                    do_permutest(d, f, t))
  }
  entry$permutest <- if (length(pm)) pm else structure("[]", class = "json")
  if (is.null(entry$year)) entry["year"] <- list(NULL)
  out_ds[[length(out_ds) + 1L]] <- entry
}

versions <- list(
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  metadat = as.character(packageVersion("metadat")),
  jsonlite = as.character(packageVersion("jsonlite")),
  RNGkind = jchr(RNGkind()),
  control = list(threshold = jnum(CTRL$threshold), tol = jnum(CTRL$tol),
                 maxiter = jnum(CTRL$maxiter)),
  permutest = list(seed = PERM_SEED, iter = PERM_ITER),
  skipped = if (length(skipped)) skipped else structure("[]", class = "json")
)

out <- list(versions = versions, datasets = out_ds)
txt <- toJSON(out, json_verbatim = TRUE, auto_unbox = TRUE, pretty = TRUE,
              null = "null", na = "null", digits = NA)
con <- file(out_path, open = "wb")
writeLines(txt, con, sep = "\n", useBytes = TRUE)
close(con)

# ---------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------
cat("wrote", out_path, "\n")
cat("skipped:", length(skipped), "\n")
for (s in skipped) cat("  -", s$case, ":", s$error, "\n")
for (e in out_ds) {
  cat(sprintf("%-20s k=%d  trimfill k0 REML=%s FE=%s  regtest z=%s  metareg=%d permutest=%d\n",
              e$dataset, length(fromJSON(e$yi)),
              if (!is.null(e$trimfill$REML$k0)) e$trimfill$REML$k0 else "ERR",
              if (!is.null(e$trimfill$FE$k0)) e$trimfill$FE$k0 else "ERR",
              if (!is.null(e$regtest$rma_REML$zval)) e$regtest$rma_REML$zval else "ERR",
              if (is.list(e$metareg)) length(e$metareg) else 0L,
              if (is.list(e$permutest)) length(e$permutest) else 0L))
}
cat("bcg REML leave1out z estimates:", out_ds[[1]]$leave1out$z$estimate, "\n")
