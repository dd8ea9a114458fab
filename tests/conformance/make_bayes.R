# Bayesian random-effects meta-analysis (issue #16): an independent reference
# for `spotmeta bayes` (src/model/bayes.rs), written from the model alone with
# base R's integrate() and uniroot() (no bayesmeta package: CRAN is
# unreachable on the build machine, and Debian does not package it).
#
# Model: y_i ~ N(theta_i, v_i), theta_i ~ N(mu, tau^2); mu uniform (improper)
# or normal; tau half-normal, half-Cauchy, log-t (Rhodes et al. 2015: log tau^2
# ~ t_5(-3.44, 2.59)) or uniform (improper). mu is integrated out in closed
# form; every marginal quantity is a one-dimensional integral over tau, done
# here by integrate() on [0, Inf) split at multiples of a reference scale
# (the Rhodes prior, whose density has an integrable pole at tau = 0, in
# u = log(tau) instead), and quantiles by uniroot() on those integrals.
#
# Run from the repository root: Rscript tests/conformance/make_bayes.R
# Writes tests/conformance/fixtures/bayes.json.
suppressMessages(library(jsonlite))

RT <- 1e-11   # integrate() relative tolerance
UT <- 1e-13   # uniroot() tolerance

dprior <- function(prior) switch(prior$family,
  "half-normal" = function(t) 2 * dnorm(t, 0, prior$scale),
  "half-cauchy" = function(t) 2 * dcauchy(t, 0, prior$scale),
  "log-t" = function(t) ifelse(t > 0, dt((log(t^2) - prior$location) / prior$scale, df = 5) / prior$scale * 2 / t, 0),
  "uniform" = function(t) rep(1, length(t)))

# mu | tau, y: conditional mean, variance and log marginal likelihood of tau.
cond <- function(t, y, v, mp) {
  sapply(t, function(tt) {
    w <- 1 / (v + tt^2)
    p0 <- if (is.null(mp)) 0 else 1 / mp$sd^2
    m0 <- if (is.null(mp)) 0 else mp$mean
    s <- sum(w) + p0
    mu <- (sum(w * y) + p0 * m0) / s
    q <- sum(w * (y - mu)^2) + p0 * (m0 - mu)^2
    c(mu, 1 / s, -0.5 * (sum(log(v + tt^2)) + log(s) + q))
  })
}

fit <- function(name, y, v, prior, mp = NULL, a = 0.2, shrink = 1) {
  pr <- dprior(prior)
  logt <- prior$family == "log-t"
  ref <- if (!is.null(prior$scale) && !logt) prior$scale else sqrt(mean(v))
  # the log-likelihood's value at its largest on a coarse grid, as a scale
  grid <- exp(seq(log(ref) - 20, log(ref) + 10, by = 0.25))
  lref <- max(cond(grid, y, v, mp)[3, ] + log(pr(grid) * grid))
  post <- function(t) { cc <- cond(t, y, v, mp); pr(t) * exp(cc[3, ] - lref) }
  # integral over tau of g(t) * post(t), on [lo, hi]; once the normalising
  # constant Z is known, an absolute tolerance of 1e-13 of it stops pieces
  # whose value is near zero (a mean near 0, a far tail) from failing on
  # roundoff
  AT <- 1e-300
  # integrate() that accepts a "roundoff error" verdict only when its own
  # error estimate is below 1e-12 of the scale Z (or of the piece itself)
  checked <- function(f, lo, hi) {
    r <- integrate(f, lo, hi, rel.tol = RT, abs.tol = AT, subdivisions = 5000L, stop.on.error = FALSE)
    if (r$message != "OK" && !(r$abs.error <= 1e-12 * max(abs(r$value), if (AT > 1e-300) AT * 1e13 else 0)))
      stop(name, ": integrate() on [", lo, ", ", hi, "]: ", r$message, " (error ", r$abs.error, ", value ", r$value, ")")
    r$value
  }
  I <- function(g, lo = 0, hi = Inf) {
    if (logt) {
      # tau = exp(u) under- or overflows far out in the tails, where the
      # integrand is below 1e-15 of its peak: 0 there
      f <- function(u) { t <- exp(u); ok <- is.finite(t^2) & t^2 > 0
        r <- numeric(length(u)); if (any(ok)) r[ok] <- g(t[ok]) * post(t[ok]) * t[ok]; r }
      return(checked(f, if (lo <= 0) -Inf else log(lo), if (is.finite(hi)) log(hi) else Inf))
    }
    f <- function(t) g(t) * post(t)
    cuts <- sort(unique(c(lo, ref * c(0.25, 0.5, 1, 2, 4, 8, 16), hi)))
    cuts <- cuts[cuts >= lo & cuts <= hi]
    sum(sapply(seq_len(length(cuts) - 1), function(i)
      checked(f, cuts[i], cuts[i + 1])))
  }
  one <- function(t) rep(1, length(t))
  Z <- I(one)
  AT <- 1e-13 * Z * (1 + max(abs(y)))^2
  tcdf <- function(x) I(one, 0, x) / Z
  tq <- function(p) exp(uniroot(function(u) tcdf(exp(u)) - p, c(log(ref) - 40, log(ref) + 12), tol = UT)$root)
  # a normal mixture over tau: component mean m(t), sd s(t)
  mix <- function(ms, mean_ok = has(1), sd_ok = has(2)) {
    cdf <- function(x) I(function(t) { z <- ms(t); pnorm(x, z[1, ], z[2, ]) }) / Z
    q <- function(p) uniroot(function(x) cdf(x) - p, c(-50, 50) * (1 + max(abs(y))), tol = UT)$root
    m1 <- if (mean_ok) I(function(t) ms(t)[1, ]) / Z else NA
    m2 <- if (sd_ok) I(function(t) { z <- ms(t); z[2, ]^2 + z[1, ]^2 }) / Z else NA
    list(cdf = cdf, median = q(0.5), lower = q(0.025), upper = q(0.975), mean = m1, sd = sqrt(m2 - m1^2))
  }
  # E[tau^m] is finite iff the posterior tail ~ tau^-(c + d) (likelihood
  # tau^-c with c = k - 1, or k under a normal mu prior; prior tau^-d) times
  # tau^m integrates: m < c + d - 1, and m = c for the log-t prior thanks to
  # its (log tau)^-6 factor. Means and SDs that do not exist are written as null.
  cc <- length(y) - if (is.null(mp)) 1 else 0
  has <- function(m) switch(prior$family, "half-normal" = TRUE, "half-cauchy" = m < cc + 1,
                            "log-t" = m <= cc, "uniform" = m < cc - 1)
  mu <- mix(function(t) { cc <- cond(t, y, v, mp); rbind(cc[1, ], sqrt(cc[2, ])) })
  pred <- mix(function(t) { cc <- cond(t, y, v, mp); rbind(cc[1, ], sqrt(cc[2, ] + t^2)) })
  th <- mix(function(t) {
    cc <- cond(t, y, v, mp); b <- v[shrink] / (v[shrink] + t^2)
    rbind((1 - b) * y[shrink] + b * cc[1, ], sqrt(v[shrink] * t^2 / (v[shrink] + t^2) + b^2 * cc[2, ]))
  }, TRUE, TRUE)  # theta_i's conditional mean and variance stay bounded as tau grows
  tm <- if (has(1)) I(function(t) t) / Z else NA
  strip <- function(m) m[c("median", "lower", "upper", "mean", "sd")]
  list(name = name, yi = y, vi = v, tau_prior = prior, mu_prior = mp, worthwhile = a,
       tau = list(median = tq(0.5), lower = tq(0.025), upper = tq(0.975), mean = tm,
                  sd = if (has(2)) sqrt(I(function(t) t^2) / Z - tm^2) else NA),
       mu = strip(mu), prediction = strip(pred), theta_index = shrink - 1, theta = strip(th),
       p_mu_positive = 1 - mu$cdf(0), p_mu_worthwhile = 1 - mu$cdf(a))
}

hn <- function(s) list(family = "half-normal", scale = s)
hc <- function(s) list(family = "half-cauchy", scale = s)
rhodes <- list(family = "log-t", location = -3.44, scale = 2.59)
unif <- list(family = "uniform")

# the bundled dataset's primary analysis (k = 2; `spotmeta rma --format json`)
spot_y <- c(-0.036038777561537304, -0.010278900397113343)
spot_v <- c(0.012828838419795704, 0.010526871872596703)
# five SMDs with real heterogeneity
five_y <- c(0.42, 0.10, 0.65, -0.05, 0.31)
five_v <- c(0.040, 0.055, 0.090, 0.030, 0.070)
# eight schools (Gelman et al. 1997, p. 143; bayesmeta's Rubin1981)
sch_y <- c(28.39, 7.94, -2.75, 6.82, -0.64, 0.63, 18.01, 12.16)
sch_v <- c(14.9, 10.2, 16.3, 11.0, 9.4, 11.4, 10.4, 17.6)^2
# twenty studies (fixed pseudo-random values)
set.seed(16)
tw_v <- round(runif(20, 0.01, 0.2), 4)
tw_y <- round(rnorm(20, 0.25, sqrt(tw_v + 0.04)), 4)

cases <- list(
  fit("spot primary, half-normal 0.5", spot_y, spot_v, hn(0.5)),
  fit("spot primary, half-normal 1", spot_y, spot_v, hn(1)),
  fit("spot primary, half-Cauchy 0.5", spot_y, spot_v, hc(0.5)),
  fit("spot primary, Rhodes", spot_y, spot_v, rhodes),
  fit("five, half-normal 0.5", five_y, five_v, hn(0.5), shrink = 3),
  fit("five, half-Cauchy 0.5", five_y, five_v, hc(0.5)),
  fit("five, Rhodes", five_y, five_v, rhodes, a = 0.3),
  fit("five, uniform", five_y, five_v, unif),
  fit("five, normal mu prior", five_y, five_v, hn(0.5), mp = list(mean = 0, sd = 0.5)),
  fit("eight schools, half-Cauchy 25, normal(0, 50)", sch_y, sch_v, hc(25), mp = list(mean = 0, sd = 50), a = 5),
  fit("eight schools, uniform", sch_y, sch_v, unif, a = 5),
  fit("twenty, half-normal 0.5", tw_y, tw_v, hn(0.5), shrink = 20)
)
write_json(list(versions = list(R = R.version.string, generated = "2026-11-23",
                                integrate_rel_tol = RT, uniroot_tol = UT),
                cases = cases),
           "tests/conformance/fixtures/bayes.json", digits = I(15), auto_unbox = TRUE,
           pretty = TRUE, null = "null", na = "null")
cat("fixture written\n")
