#!/usr/bin/env Rscript
# Issue #18 (metafor habits): `escalc(measure, m1i = <column>, ..., data = d)`
# keeps every input column and appends yi and vi (a column already named yi
# or vi is replaced in place), with metafor's arguments mapped to columns of
# any name (spotmeta's --m1i COL and the like).
#
# Run from the repository root:
#   Rscript tests/conformance/make_escalc_data_fixtures.R
#
# Writes (deterministically; reruns are byte-identical for the same R/metafor):
#   tests/fixtures/normand1999_renamed.csv   dat.normand1999 (metadat), columns
#                                            renamed away from metafor's names
#   tests/fixtures/smcr_renamed.csv          a small one-group pre-post table
#   tests/conformance/fixtures/escalc_data.json
#
# Numbers are written as the shortest of %.15g / %.16g / %.17g that parses
# back to exactly the same IEEE-754 double (as make_formula_fixtures.R).

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

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
jarr <- function(x) paste0("[", paste(fmt_num(x), collapse = ", "), "]")
jchr <- function(x) as.character(toJSON(as.character(unname(x))))

# dat.normand1999 with its metafor-named columns renamed; one mean blanked so
# that a row is omitted (yi = vi = NA) as metafor does.
d <- dat.normand1999
names(d) <- c("study", "source", "n_new", "mean_new", "sd_new", "n_old", "mean_old", "sd_old")
d$mean_new[5] <- NA
write.csv(d, file.path("tests", "fixtures", "normand1999_renamed.csv"), row.names = FALSE, na = "")
e1 <- escalc("SMD", m1i = mean_new, sd1i = sd_new, n1i = n_new,
             m2i = mean_old, sd2i = sd_old, n2i = n_old, data = d)

# One-group pre-post (SMCR: m1i post, m2i pre, sd1i pre SD, ni, ri), with a
# moderator and an existing `yi` column that escalc replaces in place.
p <- data.frame(
  trial = c("A", "B", "C", "D"),
  yi = c(9, 9, 9, 9),
  post = c(-0.4, -1.1, 0.3, -2.0),
  pre = c(-1.3, -1.5, -0.2, -2.6),
  sd_pre = c(3.0, 2.2, 1.7, 4.1),
  n = c(22, 15, 40, 12),
  r = c(0.6, 0.5, 0.7, 0.8),
  weeks = c(6, 8, 12, 4)
)
write.csv(p, file.path("tests", "fixtures", "smcr_renamed.csv"), row.names = FALSE)
e2 <- escalc("SMCR", m1i = post, m2i = pre, sd1i = sd_pre, ni = n, ri = r, data = p)

case <- function(name, call, file, e) {
  paste0(
    "  {\n",
    "    \"name\": \"", name, "\",\n",
    "    \"source\": ", jchr(call), ",\n",
    "    \"file\": \"", file, "\",\n",
    "    \"columns\": ", jchr(names(e)), ",\n",
    "    \"yi\": ", jarr(e$yi), ",\n",
    "    \"vi\": ", jarr(e$vi), "\n",
    "  }"
  )
}

json <- paste0(
  "[\n",
  case("smd_renamed",
       "escalc(\"SMD\", m1i = mean_new, sd1i = sd_new, n1i = n_new, m2i = mean_old, sd2i = sd_old, n2i = n_old, data = d)",
       "normand1999_renamed.csv", e1), ",\n",
  case("smcr_renamed",
       "escalc(\"SMCR\", m1i = post, m2i = pre, sd1i = sd_pre, ni = n, ri = r, data = p)",
       "smcr_renamed.csv", e2), "\n",
  "]\n"
)
writeLines(json, file.path("tests", "conformance", "fixtures", "escalc_data.json"), sep = "")
