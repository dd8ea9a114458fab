# Peer timings for benches/peers/run.sh (issue #7): R metafor on the same
# inputs as spotmeta. Prints "<case> <microseconds per fit>" lines.
# Usage: Rscript metafor.R BATCH_CSV GOSH_CSV
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
key <- paste(d$outcome, d$region)
groups <- split(d[, c("yi", "vi")], key)
n <- 1000L # a sample of the groups: all 100,000 would take minutes
sub <- groups[seq_len(n)]
# A group where metafor's Fisher scoring does not converge still costs its time
# (spotmeta converges on those: tests/regression.rs), hence try().
per_fit <- function(expr_fun, reps) {
  t <- system.time(expr_fun())[["elapsed"]]
  1e6 * t / reps
}
cat(sprintf("batch_reml %.3f\n", per_fit(function() lapply(sub, function(g) try(rma(g$yi, g$vi, method = "REML"), silent = TRUE)), n)))
cat(sprintf("batch_reml_confint %.3f\n", per_fit(function() lapply(sub[1:200], function(g) try(confint(rma(g$yi, g$vi, method = "REML")), silent = TRUE)), 200)))
cat(sprintf("batch_dl %.3f\n", per_fit(function() lapply(sub, function(g) try(rma(g$yi, g$vi, method = "DL"), silent = TRUE)), n)))
gd <- read.csv(args[2])
res <- rma(gd$yi, gd$vi, method = "REML")
m <- 5000L # metafor samples subsets for large k; time per fitted subset
cat(sprintf("gosh_reml %.3f\n", per_fit(function() gosh(res, subsets = m, progbar = FALSE), m)))
