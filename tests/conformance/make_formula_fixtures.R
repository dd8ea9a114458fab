#!/usr/bin/env Rscript
# Issue #18 (metafor habits): R formula syntax for `mods`, predict() with
# new moderator values, the subgroup test Q_M (and the Q-between of separate
# fits) and cumul() ordered by any column, as computed by R metafor on
# dat.bcg.
#
# Run from the repository root:
#   Rscript tests/conformance/make_formula_fixtures.R
#
# Writes (deterministically; reruns are byte-identical for the same R/metafor):
#   tests/conformance/fixtures/formula.json
#
# Numbers are written as the shortest of %.15g / %.16g / %.17g that parses
# back to exactly the same IEEE-754 double (as make_analysis_fixtures.R).
# NA / NaN / +-Inf are written as JSON null.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

out_path <- file.path("tests", "conformance", "fixtures", "formula.json")
CTRL <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)

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
jnum <- function(x) {
  if (is.null(x) || length(x) == 0L) return(structure("null", class = "json"))
  x <- suppressWarnings(as.numeric(unname(x)))
  stopifnot(length(x) == 1L)
  structure(fmt_num(x), class = "json")
}
jarr <- function(x) {
  if (is.null(x)) return(structure("null", class = "json"))
  x <- suppressWarnings(as.numeric(unname(x)))
  structure(paste0("[", paste(fmt_num(x), collapse = ", "), "]"), class = "json")
}
jchr <- function(x) structure(as.character(toJSON(as.character(unname(x)))), class = "json")
jmat <- function(X) {
  rows <- vapply(seq_len(nrow(X)), function(i) unclass(jarr(X[i, ])), "")
  structure(paste0("[", paste(rows, collapse = ", "), "]"), class = "json")
}

# ---------------------------------------------------------------------------
# Data: dat.bcg log risk ratios with its moderators, plus two derived ones:
# era (text, two levels) and dose (numbers used as factor levels).
# ---------------------------------------------------------------------------
d <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
d$era <- ifelse(d$year < 1960, "early", "late")
d$dose <- rep(c(10, 2, 5), length.out = nrow(d))
MODS <- c("ablat", "year", "alloc", "era", "dose")

# New moderator values for predict(): raw variable values, coded by R.
NEW <- data.frame(ablat = c(20, 50), year = c(1950, 1975),
                  alloc = c("random", "systematic"), era = c("early", "late"),
                  dose = c(5, 10), stringsAsFactors = FALSE)

FORMULAS <- c("~ ablat + year", "~ ablat * year", "~ ablat:year",
              "~ factor(alloc)", "~ alloc", "~ 0 + ablat", "~ ablat - 1",
              "~ factor(alloc) - 1", "~ ablat * factor(alloc)",
              "~ factor(alloc):ablat", "~ 0 + factor(alloc) + era",
              "~ factor(dose)", "~ alloc * era", "~ alloc:era",
              "~ era + factor(alloc):ablat")

pred_list <- function(p) {
  list(pred = jarr(p$pred), se = jarr(p$se), ci.lb = jarr(p$ci.lb), ci.ub = jarr(p$ci.ub),
       pi.lb = jarr(p$pi.lb), pi.ub = jarr(p$pi.ub))
}

do_formula <- function(f) {
  form <- as.formula(f)
  mm <- model.matrix(form, data = d)
  # the coded new rows: model.matrix on data + new rows (same levels), last rows
  both <- rbind(d[, MODS], NEW)
  mm_new <- model.matrix(form, data = both)
  mm_new <- mm_new[(nrow(d) + 1):nrow(both), , drop = FALSE]
  colnames(mm_new)[colnames(mm_new) == "(Intercept)"] <- "intrcpt"
  fits <- list()
  for (m in c("REML", "DL")) for (t in c("z", "knha")) {
    fit <- suppressWarnings(rma(yi, vi, mods = form, data = d, method = m, test = t, control = CTRL))
    cn <- colnames(fit$X)
    X_new <- mm_new[, cn, drop = FALSE]
    newmods <- if (fit$int.incl) X_new[, -1, drop = FALSE] else X_new
    p <- predict(fit, newmods = newmods)
    fits[[length(fits) + 1L]] <- list(
      method = m, test = t,
      beta = jarr(fit$beta), se = jarr(fit$se), zval = jarr(fit$zval), pval = jarr(fit$pval),
      ci.lb = jarr(fit$ci.lb), ci.ub = jarr(fit$ci.ub), tau2 = jnum(fit$tau2),
      QM = jnum(fit$QM), QMdf = jarr(fit$QMdf), QMp = jnum(fit$QMp),
      QE = jnum(fit$QE), QEp = jnum(fit$QEp), I2 = jnum(fit$I2), H2 = jnum(fit$H2),
      R2 = jnum(fit$R2), btt = jarr(fit$btt),
      newmods = jmat(newmods), predict = pred_list(p))
  }
  fit <- suppressWarnings(rma(yi, vi, mods = form, data = d, control = CTRL))
  # rma.uni() centres yi before estimating tau^2 and computing QE ("to
  # increase the stability"), which changes both when the columns of X do
  # not span the constant (e.g. ~ 0 + ablat). For those formulas the
  # reference is rma.mv() with one random effect per row (no centring),
  # REML, z test.
  spans_one <- qr(cbind(1, fit$X))$rank == qr(fit$X)$rank
  mv <- NULL
  if (!spans_one) {
    d$row <- seq_len(nrow(d))
    m <- rma.mv(yi, vi, mods = form, random = ~ 1 | row, data = d)
    X_new <- mm_new[, colnames(fit$X), drop = FALSE]
    p <- predict(m, newmods = X_new)
    mv <- list(call = "rma.mv(yi, vi, mods = <formula>, random = ~ 1 | row, data = d)",
               tau2 = jnum(m$sigma2), beta = jarr(m$beta), se = jarr(m$se),
               QE = jnum(m$QE), QM = jnum(m$QM), newmods = jmat(X_new), predict = pred_list(p))
  }
  list(formula = f, spans_intercept = spans_one, rma_mv_REML = mv,
       term_labels = jchr(attr(terms(form), "term.labels")),
       intercept = attr(terms(form), "intercept") == 1,
       model_matrix_colnames = jchr(colnames(mm)),
       colnames = jchr(colnames(fit$X)),
       X = jmat(fit$X), X_new = jmat(mm_new[, colnames(fit$X), drop = FALSE]),
       fits = fits)
}

# Subgroups by alloc: Q_M of rma(mods = ~ factor(alloc)) (one tau^2 for all
# groups, metafor) and Q-between of separate fits (one tau^2 per group; the
# test of meta's subgroup analysis with tau.common = FALSE, Borenstein 2009
# ch. 19): a common-effect Q over the subgroup estimates.
do_subgroup <- function(m, t) {
  fit <- rma(yi, vi, mods = ~ factor(alloc), data = d, method = m, test = t, control = CTRL)
  lv <- unique(d$alloc)
  sep <- lapply(lv, function(g) rma(yi, vi, data = d, subset = alloc == g, method = m, test = t, control = CTRL))
  b <- sapply(sep, function(s) c(s$beta)); se <- sapply(sep, function(s) s$se)
  qb <- rma(b, sei = se, method = "FE")
  list(method = m, test = t, QM = jnum(fit$QM), QMdf = jarr(fit$QMdf), QMp = jnum(fit$QMp),
       tau2 = jnum(fit$tau2), groups = jchr(lv), group_estimate = jarr(b), group_se = jarr(se),
       Qbetween = jnum(qb$QE), Qbetween_df = jnum(length(lv) - 1), Qbetween_p = jnum(qb$QEp))
}

do_cumul <- function(col) {
  fit <- rma(yi, vi, data = d, control = CTRL)
  cm <- cumul(fit, order = d[[col]])
  list(order_by = col, order = jarr(order(d[[col]])), estimate = jarr(cm$estimate),
       se = jarr(cm$se), ci.lb = jarr(cm$ci.lb), ci.ub = jarr(cm$ci.ub), tau2 = jarr(cm$tau2),
       I2 = jarr(cm$I2), Q = jarr(cm$Q))
}

sg <- list()
for (m in c("REML", "DL")) for (t in c("z", "knha")) sg[[length(sg) + 1L]] <- do_subgroup(m, t)

out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  metadat = as.character(packageVersion("metadat")),
                  control = list(threshold = jnum(CTRL$threshold), tol = jnum(CTRL$tol),
                                 maxiter = jnum(CTRL$maxiter))),
  data = list(source = "escalc(measure='RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg); era = ifelse(year < 1960, 'early', 'late'); dose = rep(c(10, 2, 5), length.out = 13)",
              yi = jarr(d$yi), vi = jarr(d$vi), ablat = jarr(d$ablat), year = jarr(d$year),
              alloc = jchr(d$alloc), era = jchr(d$era), dose = jarr(d$dose)),
  new = list(ablat = jarr(NEW$ablat), year = jarr(NEW$year), alloc = jchr(NEW$alloc),
             era = jchr(NEW$era), dose = jarr(NEW$dose)),
  formulas = lapply(FORMULAS, do_formula),
  subgroup = sg,
  cumul = list(do_cumul("alloc"), do_cumul("ablat"))
)
txt <- toJSON(out, json_verbatim = TRUE, auto_unbox = TRUE, pretty = TRUE,
              null = "null", na = "null", digits = NA)
con <- file(out_path, open = "wb")
writeLines(txt, con, sep = "\n", useBytes = TRUE)
close(con)
cat("wrote", out_path, "\n")
