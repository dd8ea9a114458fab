# Independent computation of the raw-score metric (issue #16): every
# derivation path of spotmeta's spot_effect on synthetic rows, each at the
# imputed correlation 0.3 / 0.5 / 0.7, plus the computable rows of the bundled
# dataset, from the formulas in dppc2_formulas.R (Morris 2008; Becker 1988),
# not from spotmeta's code. Also the special case that must equal
# metafor::escalc("SMCR") (metafor 3.8.1).
# Writes tests/conformance/fixtures/dppc2.json. Run from the repository root:
#   Rscript tests/conformance/make_dppc2.R
suppressMessages({ library(metafor); library(jsonlite) })
source("tests/conformance/dppc2_formulas.R")

par <- list(design = "parallel", comparison = "no_exercise")
wit <- list(design = "within_subject", comparison = "untrained_limb")
case <- function(name, base, ...) list(name = name, row = c(base, list(...)))
cases <- list(
  case("parallel pre/post means and SDs, r_prepost reported", par, n_trained = 14, n_control = 11,
       disp_type = "sd", pre_mean_t = 30.2, pre_sd_t = 6.1, post_mean_t = 27.9, post_sd_t = 5.8,
       pre_mean_c = 29.4, pre_sd_c = 5.5, post_mean_c = 29.0, post_sd_c = 5.6,
       r_prepost = 0.8, r_prepost_source = "reported"),
  case("parallel change means and pre SDs, r_prepost imputed", par, n_trained = 20, n_control = 18,
       disp_type = "sd", pre_sd_t = 9.0, pre_sd_c = 7.5, change_mean_t = -3.1, change_sd_t = 4.0,
       change_mean_c = -0.6, change_sd_c = 3.5),
  case("parallel SEs become SDs", par, n_trained = 16, n_control = 12, disp_type = "se",
       pre_mean_t = 50, pre_sd_t = 1.5, post_mean_t = 47, post_sd_t = 1.4,
       pre_mean_c = 49, pre_sd_c = 1.7, post_mean_c = 48.5, post_sd_c = 1.6),
  case("parallel change SD only (pre SD from change SD)", par, n_trained = 12, n_control = 12,
       disp_type = "sd", change_mean_t = -1170, change_sd_t = 1093, change_mean_c = -500,
       change_sd_c = 900),
  case("parallel one arm pre SD, other change SD only", par, n_trained = 10, n_control = 9,
       disp_type = "sd", pre_sd_t = 12, change_mean_t = -4, change_mean_c = -1, change_sd_c = 6),
  case("parallel reported t", par, n_trained = 15, n_control = 14, diff_t = -2.3),
  case("parallel reported t, r_prepost reported", par, n_trained = 15, n_control = 14, diff_t = -2.3,
       r_prepost = 0.9, r_prepost_source = "reported"),
  case("parallel difference and 95% CI", par, n_trained = 20, n_control = 20, diff_mean = -2.0,
       diff_ci_lb = -3.5, diff_ci_ub = -0.5),
  case("parallel difference and SE", par, n_trained = 9, n_control = 11, diff_mean = 1.2,
       diff_se = 0.8),
  case("parallel difference and exact p", par, n_trained = 8, n_control = 8, diff_mean = -697,
       diff_p = 0.03),
  case("within pre/post means and SDs, correlations reported", wit, n_trained = 24, n_control = 24,
       disp_type = "sd", pre_mean_t = 80, pre_sd_t = 14, post_mean_t = 76, post_sd_t = 13,
       pre_mean_c = 81, pre_sd_c = 15, post_mean_c = 80, post_sd_c = 15.5,
       r_prepost = 0.85, r_prepost_source = "reported", r = 0.6, r_source = "reported"),
  case("within change SDs and pre SDs, r imputed", wit, n_trained = 30, n_control = 30,
       disp_type = "sd", pre_sd_t = 20, pre_sd_c = 22, change_mean_t = -5, change_sd_t = 12,
       change_mean_c = -4, change_sd_c = 11),
  case("within change SDs only (pre SDs from change SDs)", wit, n_trained = 25, n_control = 25,
       disp_type = "sd", change_mean_t = -0.9, change_sd_t = 4.0, change_mean_c = -2.4,
       change_sd_c = 4.2, r = 0.7, r_source = "reported"),
  case("within SEs become SDs (Walts-like)", wit, n_trained = 40, n_control = 40, disp_type = "se",
       pre_mean_t = 53.4, pre_sd_t = 2.8, post_mean_t = 54.2, post_sd_t = 2.9,
       pre_mean_c = 54.0, pre_sd_c = 2.7, post_mean_c = 53.9, post_sd_c = 2.8),
  case("within reported t", wit, n_trained = 12, n_control = 12, diff_t = -2.5),
  case("within difference and exact p with direction", wit, n_trained = 8, n_control = 8,
       diff_p = 0.02, direction = "favours_spot_reduction"),
  case("within difference and 95% CI, correlations reported", wit, n_trained = 18, n_control = 18,
       diff_mean = -1.1, diff_ci_lb = -2.0, diff_ci_ub = -0.2, r_prepost = 0.75,
       r_prepost_source = "reported", r = 0.4, r_source = "reported")
)
out_cases <- list()
for (cs in cases) for (ri in c(0.3, 0.5, 0.7)) {
  e <- raw_effect(cs$row, ri)
  out_cases[[length(out_cases) + 1]] <- list(name = cs$name, r_impute = ri, row = cs$row,
    measure = e$measure, yi = unname(e$es["yi"]), vi = unname(e$es["vi"]))
}

# The bundled dataset: included primary exercise regional-fat rows.
d <- read.csv("datasets/spot_reduction.csv", stringsAsFactors = FALSE, na.strings = c("", "NA"))
dataset <- list()
for (i in seq_len(nrow(d))) {
  row <- as.list(d[i, ])
  if (!identical(row$status, "included") || !identical(row$outcome_type, "regional_fat") ||
      !identical(row$primary, "yes") || !identical(row$intervention_type, "exercise")) next
  for (ri in c(0.3, 0.5, 0.7)) {
    e <- raw_effect(row, ri)
    if (is.null(e) || anyNA(e$es)) next
    dataset[[length(dataset) + 1]] <- list(line = i + 1, r_impute = ri, measure = e$measure,
      yi = unname(e$es["yi"]), vi = unname(e$es["vi"]))
  }
}

# SMCR special case: equal pre SDs S, change SDs S and between-limb r, so that
# sd_D = sqrt(2(1 - r)) S: the within-subject effect must equal escalc("SMCR").
smcr_row <- c(wit, list(n_trained = 22, n_control = 22, disp_type = "sd", pre_sd_t = 3.0,
  pre_sd_c = 3.0, change_mean_t = -1.3, change_sd_t = 3.0, change_mean_c = -0.4,
  change_sd_c = 3.0, r = 0.6, r_source = "reported"))
m <- escalc("SMCR", m1i = -0.4, m2i = -1.3, sd1i = 3.0, ni = 22, ri = 0.6)
smcr <- list(row = smcr_row, yi = c(m$yi), vi = c(m$vi))

write_json(list(versions = list(R = R.version.string,
    metafor = as.character(packageVersion("metafor")), generated = "2026-12-02"),
  cases = out_cases, dataset = dataset, smcr = smcr),
  "tests/conformance/fixtures/dppc2.json", digits = I(17), auto_unbox = TRUE, pretty = TRUE)
cat(length(out_cases), "cases,", length(dataset), "dataset rows written\n")
