# Tests for subgroup differences under the three-level model (issue #18,
# `spotmeta rma --multilevel CLUSTER/INNER --by COL`), on metadat's
# dat.konstantopoulos2011 (56 schools in 11 districts):
#  * joint: rma.mv(yi, vi, mods = ~ factor(by), random = ~ 1 | district/school)
#    and its omnibus test of the moderators (QM, chi^2 with G - 1 df; with
#    test = "t" an F test with (G - 1, k - G) df);
#  * separate: one rma.mv(yi, vi, random = ~ 1 | district/school) per
#    subgroup (what the three-level forest plot draws for `--by`), then the
#    Wald-type test of the subgroup estimates, rma(est, sei = se, mods = ~ by,
#    method = "FE") (metafor's "comparing estimates of independent
#    meta-analyses or subgroups").
# Subgroups: `year` as a factor (6 levels; two hold one district) and `era`
# (year < 1990 or not: 4 and 7 districts). Writes fixtures/subgroup_multilevel.json.
# Run from the repository root: Rscript tests/conformance/make_subgroup_multilevel_fixtures.R
suppressMessages({ library(metafor); library(jsonlite) })
CTRL <- list(rel.tol = 1e-10, iter.max = 10000, eval.max = 10000)
num <- function(x) if (length(x) == 0 || all(is.na(x))) NULL else unname(c(x))

d <- dat.konstantopoulos2011
d$era <- ifelse(d$year < 1990, "before 1990", "1990 on")
out <- list()
for (by in c("year", "era")) {
  d$g <- factor(d[[by]])
  joint <- list()
  for (test in c("z", "t")) {
    fit <- rma.mv(yi, vi, mods = ~ g, random = ~ 1 | district/school, data = d,
                  test = test, control = CTRL)
    joint[[test]] <- list(QM = num(fit$QM), QMdf = num(fit$QMdf), QMp = num(fit$QMp),
                          sigma2 = num(fit$sigma2))
  }
  groups <- list()
  est <- c(); se <- c(); lev <- c()
  for (l in unique(as.character(d$g))) {
    s <- d[as.character(d$g) == l, ]
    if (length(unique(s$district)) < 2) {
      groups[[length(groups) + 1]] <- list(name = l, k = nrow(s), fitted = FALSE)
      next
    }
    f <- rma.mv(yi, vi, random = ~ 1 | district/school, data = s, control = CTRL)
    groups[[length(groups) + 1]] <- list(name = l, k = nrow(s), fitted = TRUE,
      beta = num(f$beta), se = num(f$se), sigma2 = num(f$sigma2))
    est <- c(est, f$beta[1]); se <- c(se, f$se); lev <- c(lev, l)
  }
  separate <- NULL
  if (length(est) == length(unique(d$g))) {
    w <- rma(est, sei = se, mods = ~ factor(lev), method = "FE")
    separate <- list(QM = num(w$QM), QMdf = num(w$QMdf), QMp = num(w$QMp))
  }
  out[[length(out) + 1]] <- list(by = by, labels = as.character(d$g), joint = joint,
                                 groups = groups, separate = separate)
}
write_json(list(versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
  generated = "2026-12-03"), yi = num(d$yi), vi = num(d$vi), district = as.character(d$district),
  cases = out),
  "tests/conformance/fixtures/subgroup_multilevel.json", digits = I(15), auto_unbox = TRUE,
  pretty = TRUE, null = "null")
cat(length(out), "cases written\n")
