# Effect sizes of the real rows of datasets/spot_reduction.csv computed with
# metafor::escalc, re-deriving every input independently of spotmeta
# (datasets/README.md, "From a row to an effect size"):
#   change = post - pre; SD = SE * sqrt(n) when disp_type = se;
#   SD of a change = sqrt(sd_pre^2 + sd_post^2 - 2 r sd_pre sd_post), r = r_prepost or 0.5;
#   parallel: escalc("SMD", m1i = change_c, sd1i = sd_c, n1i = n_control,
#                           m2i = change_t, sd2i = sd_t, n2i = n_trained);
#   within_subject: escalc("SMCC", m1i = change_c, m2i = change_t, sd1i = sd_c,
#                          sd2i = sd_t, ni = n_trained, ri = r or 0.5).
# Only primary, included, exercise, regional-fat rows with arm statistics are
# covered (rows using a reported between-arm statistic would need ti=).
# Run from the repository root: Rscript tests/conformance/make_spot_fixtures.R
suppressMessages(library(metafor))
d <- read.csv("datasets/spot_reduction.csv", stringsAsFactors = FALSE, na.strings = c("", "NA"))
num <- function(x) suppressWarnings(as.numeric(x))
arm <- function(row, s, n) {
  se <- identical(row$disp_type, "se")
  conv <- function(x) if (se) x * sqrt(n) else x
  ch <- num(row[[paste0("change_mean_", s)]])
  if (is.na(ch)) ch <- num(row[[paste0("post_mean_", s)]]) - num(row[[paste0("pre_mean_", s)]])
  sd <- num(row[[paste0("change_sd_", s)]])
  if (!is.na(sd)) sd <- conv(sd) else {
    r <- if (is.na(num(row$r_prepost))) 0.5 else num(row$r_prepost)
    a <- conv(num(row[[paste0("pre_sd_", s)]])); b <- conv(num(row[[paste0("post_sd_", s)]]))
    sd <- sqrt(a^2 + b^2 - 2 * r * a * b)
  }
  c(ch, sd)
}
out <- list()
for (i in seq_len(nrow(d))) {
  row <- d[i, ]
  if (!identical(row$status, "included") || !identical(row$outcome_type, "regional_fat") ||
      !identical(row$primary, "yes") || !identical(row$intervention_type, "exercise")) next
  within <- row$design %in% c("within_subject", "crossover")
  nt <- num(row$n_trained); nc <- if (within) nt else num(row$n_control)
  t <- arm(row, "t", nt); cc <- arm(row, "c", nc)
  if (any(is.na(c(t, cc, nt, nc)))) next
  es <- if (within) {
    r <- if (is.na(num(row$r))) 0.5 else num(row$r)
    escalc("SMCC", m1i = cc[1], m2i = t[1], sd1i = cc[2], sd2i = t[2], ni = nt, ri = r)
  } else {
    escalc("SMD", m1i = cc[1], sd1i = cc[2], n1i = nc, m2i = t[1], sd2i = t[2], n2i = nt)
  }
  out[[length(out) + 1]] <- list(line = i + 1, study_id = row$study_id, cohort = row$cohort,
    measure = if (within) "SMCC" else "SMD", yi = c(es$yi), vi = c(es$vi))
}
jsonlite::write_json(out, "tests/conformance/fixtures/spot_escalc.json", digits = I(17),
  auto_unbox = TRUE, pretty = TRUE)
cat(length(out), "rows written\n")
