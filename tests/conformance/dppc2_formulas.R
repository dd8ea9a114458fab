# Raw-score (pre-test SD) standardised differences of changes, written from
# the published formulas (not from spotmeta's code), issue #16.
#   Morris SB (2008) Estimating effect sizes from pretest-posttest-control
#   group designs. Organizational Research Methods 11:364-386, eq. 8 (d_ppc2)
#   and eq. 25 (its variance, delta replaced by the estimate).
#   Becker BJ (1988) Br J Math Stat Psychol 41:257-278 (SMCR variance
#   2(1 - rho)/n + d^2/(2n)); Morris & DeShon (2002) Psychol Methods 7:105-125.
# Sourced by make_dppc2.R and make_three_level_report_fixtures.R.

# Hedges' exact correction c(m) (Hedges 1981).
cm <- function(m) exp(lgamma(m / 2) - log(sqrt(m / 2)) - lgamma((m - 1) / 2))

# Morris (2008) d_ppc2, sign: comparison change minus trained change.
dppc2 <- function(mc, mt, sdc, sdt, nc, nt, rho) {
  N <- nt + nc
  sp <- sqrt(((nt - 1) * sdt^2 + (nc - 1) * sdc^2) / (N - 2))
  cp <- 1 - 3 / (4 * (N - 2) - 1)
  d <- cp * (mc - mt) / sp
  h <- N / (nt * nc)
  v <- 2 * cp^2 * (1 - rho) * h * (N - 2) / (N - 4) * (1 + d^2 / (2 * (1 - rho) * h)) - d^2
  c(yi = d, vi = v)
}

# Within-subject analogue: n people, trained and untrained limb; pre SDs of
# the limbs pooled (equal n), sdD the SD of the per-person difference of
# changes: Becker's SMCR variance with 2(1 - rho) = var(D) / sd_pre^2.
dwpc <- function(mc, mt, sdc_pre, sdt_pre, sdD, n) {
  sp2 <- (sdt_pre^2 + sdc_pre^2) / 2
  y <- cm(n - 1) * (mc - mt) / sqrt(sp2)
  c(yi = y, vi = sdD^2 / (n * sp2) + y^2 / (2 * n))
}

sd_diff <- function(a, b, r) sqrt(a^2 + b^2 - 2 * r * a * b)

# One dataset row (a named list of its columns; NA = empty) on the raw-score
# metric, following datasets/README.md section 4. r_impute replaces every
# missing correlation. Returns c(yi, vi) and the measure, or NULL.
raw_effect <- function(row, r_impute = 0.5) {
  g <- function(k) { x <- row[[k]]; if (is.null(x) || length(x) == 0) NA_real_ else suppressWarnings(as.numeric(x)) }
  s <- function(k) { x <- row[[k]]; if (is.null(x) || length(x) == 0 || is.na(x)) "" else as.character(x) }
  within <- s("design") %in% c("within_subject", "crossover")
  nt <- g("n_trained"); nc <- if (within) nt else g("n_control")
  rho <- if (is.na(g("r_prepost"))) r_impute else g("r_prepost")
  rb <- if (is.na(g("r"))) r_impute else g("r")
  se <- s("disp_type") == "se"
  conv <- function(x, n) if (se) x * sqrt(n) else x
  arm <- function(a, n) {
    ch <- g(paste0("change_mean_", a))
    if (is.na(ch)) ch <- g(paste0("post_mean_", a)) - g(paste0("pre_mean_", a))
    pre <- conv(g(paste0("pre_sd_", a)), n); post <- conv(g(paste0("post_sd_", a)), n)
    sdc <- conv(g(paste0("change_sd_", a)), n)
    sd_ch <- if (!is.na(sdc)) sdc else sd_diff(pre, post, rho)
    sd_pre <- if (!is.na(pre)) pre else sdc / sqrt(2 * (1 - rho))
    c(change = ch, sd_change = sd_ch, sd_pre = sd_pre)
  }
  t <- arm("t", nt); cc <- arm("c", nc)
  complete <- if (within) !anyNA(c(t, cc)) else !anyNA(c(t[c(1, 3)], cc[c(1, 3)]))
  if (complete && !is.na(nt) && !is.na(nc)) {
    if (within) return(list(es = dwpc(cc[["change"]], t[["change"]], cc[["sd_pre"]], t[["sd_pre"]],
                                      sd_diff(cc[["sd_change"]], t[["sd_change"]], rb), nt), measure = "DWPC"))
    return(list(es = dppc2(cc[["change"]], t[["change"]], cc[["sd_pre"]], t[["sd_pre"]], nc, nt, rho),
                measure = "DPPC2"))
  }
  # A reported between-arm statistic: t for change_t - change_c.
  if (is.na(nt) || is.na(nc)) return(NULL)
  df <- if (within) nt - 1 else nt + nc - 2
  dm <- g("diff_mean")
  tt <- if (!is.na(g("diff_t"))) g("diff_t") else if (!is.na(dm) && !is.na(g("diff_se"))) dm / g("diff_se")
    else if (!is.na(dm) && !is.na(g("diff_ci_lb"))) dm / ((g("diff_ci_ub") - g("diff_ci_lb")) / (2 * qt(0.975, df)))
    else if (!is.na(g("diff_p"))) {
      sg <- if (!is.na(dm)) sign(dm) else if (s("direction") == "favours_spot_reduction") -1 else 1
      sg * qt(1 - g("diff_p") / 2, df)
    } else return(NULL)
  if (within) {
    dz <- -tt / sqrt(nt)                      # change-score d_z of D = change_c - change_t
    ratio <- 2 * sqrt((1 - rho) * (1 - rb))   # sd_D / sd_pre with equal SDs
    return(list(es = dwpc(dz * ratio, 0, 1, 1, ratio, nt), measure = "DWPC"))
  }
  d_change <- -tt * sqrt(1 / nt + 1 / nc)     # D / pooled change SD
  list(es = dppc2(d_change * sqrt(2 * (1 - rho)), 0, 1, 1, nc, nt, rho), measure = "DPPC2")
}
