# R's formulas on R's own data sets, as R's lm() fits them: the expected values of
# tests/test_r_formulas.py, stored in tests/fixtures/r/formulas/ so that the tests need no R.
#
#   Rscript tests/r/make_formula_fixtures.R      (from the repository root; R >= 4.0 with MASS)
#
# The data are written as R users write them (write.csv with and without its row names, write.table
# with sep = "\t": a header one field short), and every fit is made on the file as read back, so that R
# and linearnet fit the same numbers. For each case: R's formula, linearnet's spelling of it (the same
# text: linearnet reads R's formulas; where linearnet also has a spelling of its own, that too), the
# coefficients under R's names and under the names linearnet prints, standard errors, sigma, R^2
# (uncentred without an intercept, as summary.lm), adjusted R^2, F, n, and for transforms with state
# (poly, scale), offsets and the intercept alone, predict() on new rows. tests/r/README.md says more.

source(file.path("tests", "r", "json.R"))
suppressPackageStartupMessages(library(MASS))

out_dir <- file.path("tests", "fixtures", "r", "formulas")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

# Text columns become factors whose levels R sorts in the collation of its locale. linearnet sorts by
# code point, which is R's order in the C locale: every case is fitted there, except the one that
# records what R does in the locale it was started in (here C.UTF-8, which R collates with ICU as an
# English locale does: "non-USA" before "USA").
session_collate <- Sys.getlocale("LC_COLLATE")
invisible(Sys.setlocale("LC_COLLATE", "C"))

# ---- the data, written as R writes them ---------------------------------------------------------------

path <- function(file) file.path(out_dir, file)

mt <- mtcars
mt$vs <- mt$vs == 1 # TRUE/FALSE columns, which R's formulas code as factors
mt$am <- mt$am == 1
write.csv(mt, path("mtcars.csv")) # row names: the car names, a first column named ""
write.table(mtcars, path("mtcars.txt"), sep = "\t") # header one field short, each row's first field its name
write.csv(iris, path("iris.csv")) # row names 1..150
write.csv(PlantGrowth, path("PlantGrowth.csv"), row.names = FALSE)
aq <- airquality
aq$Date <- as.Date(sprintf("1973-%02d-%02d", aq$Month, aq$Day)) # written 1973-05-01
write.csv(aq, path("airquality.csv"), row.names = FALSE)
write.csv(Cars93, path("Cars93.csv"), row.names = FALSE)
write.csv(stackloss, path("stackloss.csv"), row.names = FALSE)
write.table(stackloss, path("stackloss.txt"), sep = "\t")
write.csv(cars, path("cars.csv"))
write.csv(warpbreaks, path("warpbreaks.csv"), row.names = FALSE)
write.csv(ToothGrowth, path("ToothGrowth.csv"))
write.csv(trees, path("trees.csv"), row.names = FALSE)
write.csv(swiss, path("swiss.csv")) # row names: the provinces
write.csv(data.frame(CO2), path("CO2.csv"), row.names = FALSE) # a column named Treatment

# rows to predict (made up, inside and a little outside the data)
write.csv(data.frame(speed = c(4, 12.5, 25, 30)), path("new-cars.csv"), row.names = FALSE)
write.csv(data.frame(Girth = c(8.5, 13, 20.5), Height = c(64, 76, 87)), path("new-trees.csv"), row.names = FALSE)
write.csv(data.frame(wt = c(1.8, 3.2, 5), hp = c(70, 150, 300)), path("new-mtcars.csv"), row.names = FALSE)

# The file as an R user reads it back: write.table's file with read.table(header = TRUE) (the short
# header makes the first field row names), a file with row names with read.csv(row.names = 1), the
# others with read.csv. Column names as written (check.names = FALSE), text as text (R 4's default:
# lm() makes factors of the rows it keeps, so a level seen only in rows left out for a gap is no level),
# or with `factors` as factors (stringsAsFactors = TRUE, so that relevel() takes them; levels sorted in
# the locale of the moment, as lm() would sort them); a column of dates (airquality's Date) made a Date
# with as.Date, which lm() takes as days since 1970-01-01.
read_back <- function(file, factors = FALSE) {
  p <- path(file)
  d <- if (grepl("\\.txt$", file)) {
    read.table(p, header = TRUE, sep = "\t", check.names = FALSE, stringsAsFactors = factors)
  } else if (startsWith(readLines(p, n = 1), "\"\",")) {
    read.csv(p, row.names = 1, check.names = FALSE, stringsAsFactors = factors)
  } else {
    read.csv(p, check.names = FALSE, stringsAsFactors = factors)
  }
  if ("Date" %in% names(d)) d$Date <- as.Date(d$Date)
  d
}

# ---- linearnet's names of the coefficients ------------------------------------------------------------
# linearnet keeps formulaic's brackets for coded terms, the term spelled as written: R's
# Speciesversicolor is Species[T.versicolor] (a factor coded by treatment contrasts), Speciessetosa in a
# model without an intercept is Species[setosa] (a factor coded by all its levels), factor(cyl)6 is
# factor(cyl)[T.6], amTRUE is am[T.TRUE], poly(x, 3)1 is poly(x, 3)[1] (a matrix's columns), I(x^2)
# is I(x^2), wt:amTRUE is wt:am[T.TRUE]. Built from each coefficient's term (assign), the term's
# variables (the "factors" attribute of the terms: 1 coded by contrasts, 2 by all levels) and their
# levels or columns; R's names are built alongside and checked against names(coef(fit)).
# `spelled` maps a variable as R labels it to linearnet's spelling of it in another formula.

is_factor <- function(x) is.factor(x) || is.logical(x) || is.character(x)

# The "factors" attribute, as model.matrix uses it: without an intercept, the first factor of the first
# term with one is coded by all its levels (R's C code, modelmatrix in src/library/stats/src/model.c).
coding <- function(mf, tt) {
  fac <- attr(tt, "factors")
  if (attr(tt, "intercept") == 0) {
    for (term in colnames(fac)) {
      first <- Filter(function(v) fac[v, term] > 0 && is_factor(mf[[v]]), rownames(fac))
      if (length(first)) {
        fac[first[1], term] <- 2L
        break
      }
    }
  }
  fac
}

term_columns <- function(mf, fac, term, spelled) {
  vars <- rownames(fac)[fac[, term] > 0]
  parts <- lapply(vars, function(v) {
    x <- mf[[v]]
    label <- if (!is.null(spelled[[v]])) spelled[[v]] else v
    if (is.logical(x) || is.character(x)) x <- factor(x)
    if (is.ordered(x) && fac[v, term] == 1) { # R's contr.poly: columns .L, .Q, .C, ^4, ...
      k <- colnames(contr.poly(nlevels(x)))
      list(r = paste0(v, k), ours = paste0(label, "[", k, "]"))
    } else if (is.factor(x)) {
      lv <- levels(x)
      if (fac[v, term] == 1) {
        lv <- lv[-1]
        list(r = paste0(v, lv), ours = paste0(label, "[T.", lv, "]"))
      } else {
        list(r = paste0(v, lv), ours = paste0(label, "[", lv, "]"))
      }
    } else if (is.matrix(x) && ncol(x) > 1) {
      list(r = paste0(v, colnames(x)), ours = paste0(label, "[", colnames(x), "]"))
    } else {
      list(r = v, ours = label)
    }
  })
  grid <- function(which) { # the first variable varies fastest, as model.matrix orders the columns
    combos <- expand.grid(lapply(parts, `[[`, which), stringsAsFactors = FALSE)
    apply(combos, 1, paste, collapse = ":")
  }
  list(r = unname(grid("r")), ours = unname(grid("ours")))
}

linearnet_names <- function(fit, spelled = list()) {
  tt <- terms(fit)
  mf <- model.frame(fit)
  labels <- attr(tt, "term.labels")
  fac <- coding(mf, tt)
  r <- if (attr(tt, "intercept") == 1) "(Intercept)" else character(0)
  ours <- r
  for (term in labels) {
    cols <- term_columns(mf, fac, term, spelled)
    r <- c(r, cols$r)
    ours <- c(ours, cols$ours)
  }
  stopifnot(identical(r, names(coef(fit))))
  ours
}

# ---- the cases ---------------------------------------------------------------------------------------
# formula: R's. spellings: linearnet's formulas, the first R's own text; `spelled` gives, for another
# spelling, linearnet's text of each variable that differs. features: the --target/--features route
# instead (target, features, intercept). newdata: rows to predict. factors: read text as factors.
# r_text = FALSE: linearnet is not asked to read R's text, only its own spellings.

case <- function(name, data, formula, construct, spellings = list(), features = NULL, newdata = NULL,
                 locale = "C", factors = FALSE, r_text = TRUE) {
  list(
    name = name, data = data, formula = formula, construct = construct,
    spellings = c(if (r_text) list(list(formula = formula, spelled = list())), spellings),
    features = features, newdata = newdata, locale = locale, factors = factors
  )
}
also <- function(formula, spelled) list(formula = formula, spelled = spelled)
route <- function(target, features, intercept = TRUE) list(target = target, features = features, intercept = intercept)

cases <- list(
  # plain formulas, names without dots: what linearnet reads today
  case("cars", "cars.csv", "dist ~ speed", "plain, write.csv with row names"),
  case("mtcars_wt_hp_qsec", "mtcars.csv", "mpg ~ wt + hp + qsec", "plain, write.csv with row names"),
  case("trees_log", "trees.csv", "log(Volume) ~ log(Girth) + log(Height)", "log() on both sides"),
  case("warpbreaks", "warpbreaks.csv", "breaks ~ wool + tension", "text columns as factors"),
  case("warpbreaks_interaction", "warpbreaks.csv", "breaks ~ wool * tension", "factor by factor"),
  case("ToothGrowth", "ToothGrowth.csv", "len ~ supp + dose", "a text column, write.csv with row names"),
  case("PlantGrowth", "PlantGrowth.csv", "weight ~ group", "a factor with an intercept"),
  # dotted names
  case("airquality_dotted", "airquality.csv", "Ozone ~ Solar.R + Wind + Temp", "dotted name; NA rows left out"),
  case(
    "airquality_backticked", "airquality.csv", "Ozone ~ `Solar.R` + Wind + Temp",
    "dotted name in backticks"
  ),
  case("airquality_log_dotted", "airquality.csv", "Ozone ~ log(Solar.R) + Wind", "dotted name inside log()"),
  case(
    "airquality_log_target", "airquality.csv", "log(Ozone) ~ Solar.R + Wind + Temp",
    "left side log(y), dotted names"
  ),
  case(
    "airquality_I_target", "airquality.csv", "I(Ozone - Temp/10) ~ Solar.R + Wind",
    "left side I(y - x/10): another column on the left"
  ),
  case(
    "iris_dotted", "iris.csv", "Sepal.Length ~ Sepal.Width + Petal.Length + Petal.Width",
    "dotted names, write.csv with row names"
  ),
  case(
    "stackloss_txt", "stackloss.txt", "stack.loss ~ Air.Flow + Water.Temp + Acid.Conc.",
    "write.table(sep = \"\\t\"): header one field short, row names"
  ),
  case("mtcars_txt", "mtcars.txt", "mpg ~ wt + hp", "write.table(sep = \"\\t\") with car names as row names"),
  # y ~ .
  case("swiss_dot", "swiss.csv", "Fertility ~ .", "y ~ . (row names are not a column)"),
  case("swiss_dot_minus", "swiss.csv", "Fertility ~ . - Examination", ". - x"),
  case("stackloss_dot_squared", "stackloss.csv", "stack.loss ~ .^2", ".^2: main effects and pairs"),
  case("iris_dot", "iris.csv", "Sepal.Length ~ .", "y ~ . with a text column"),
  case("mtcars_dot", "mtcars.csv", "mpg ~ .", "y ~ . with TRUE/FALSE columns"),
  # factor(), I(), poly(), sqrt, abs, scale, offset
  case(
    "mtcars_factor_cyl", "mtcars.csv", "mpg ~ wt + factor(cyl)", "factor() of numbers"
  ),
  case("ToothGrowth_factor_dose", "ToothGrowth.csv", "len ~ supp + factor(dose)", "factor() of 0.5, 1, 2"),
  case("cars_I_squared", "cars.csv", "dist ~ speed + I(speed^2)", "I(x^2): ^ a power"),
  case("mtcars_I_squared", "mtcars.csv", "mpg ~ wt + I(wt^2) + hp", "I(x^2)"),
  case("cars_poly", "cars.csv", "dist ~ poly(speed, 3)", "orthogonal poly(): its state kept", newdata = "new-cars.csv"),
  case(
    "cars_poly_raw", "cars.csv", "dist ~ poly(speed, 3, raw = TRUE)", "poly(raw = TRUE)",
    newdata = "new-cars.csv"
  ),
  case(
    "trees_poly_height", "trees.csv", "Volume ~ poly(Girth, 2) + Height", "poly() beside a column",
    newdata = "new-trees.csv"
  ),
  case("cars_sqrt", "cars.csv", "sqrt(dist) ~ speed", "sqrt() on the left"),
  case("trees_sqrt", "trees.csv", "Volume ~ sqrt(Girth) + Height", "sqrt()"),
  case("mtcars_abs", "mtcars.csv", "mpg ~ abs(wt - 3) + hp", "abs()"),
  case("mtcars_scale", "mtcars.csv", "mpg ~ scale(wt) + scale(hp)", "scale(): its state kept", newdata = "new-mtcars.csv"),
  case(
    "trees_offset", "trees.csv", "log(Volume) ~ log(Girth) + offset(log(Height))", "offset()",
    newdata = "new-trees.csv"
  ),
  case("cars_offset", "cars.csv", "dist ~ speed + offset(2 * speed)", "offset() of arithmetic", newdata = "new-cars.csv"),
  # TRUE/FALSE columns are factors
  case("mtcars_am_no_intercept", "mtcars.csv", "mpg ~ am - 1", "TRUE/FALSE as a factor, all levels"),
  case("mtcars_wt_am", "mtcars.csv", "mpg ~ wt + am", "TRUE/FALSE as a factor"),
  case("mtcars_wt_by_am", "mtcars.csv", "mpg ~ wt * am", "numbers by TRUE/FALSE: wt:am[T.TRUE]"),
  case("mtcars_wt_am_vs", "mtcars.csv", "mpg ~ wt + am:vs", "TRUE/FALSE pairs without main effects (one aliased)"),
  # without an intercept: every level, R^2 uncentred
  case("iris_species_no_intercept", "iris.csv", "Sepal.Length ~ Species - 1", "no intercept: all levels"),
  case(
    "iris_zero_plus", "iris.csv", "Sepal.Length ~ 0 + Species + Petal.Width",
    "0 + : all levels, then a column"
  ),
  case("PlantGrowth_no_intercept", "PlantGrowth.csv", "weight ~ group - 1", "uncentred R^2"),
  case("trees_no_intercept", "trees.csv", "Volume ~ Girth + Height - 1", "uncentred R^2, numbers only"),
  # reference levels and the locale
  case(
    "Cars93_origin", "Cars93.csv", "Price ~ Origin + Horsepower",
    "levels in code-point order (R's C locale): reference USA"
  ),
  case(
    "Cars93_origin_locale", "Cars93.csv", "Price ~ Origin + Horsepower",
    "levels in R's own locale: reference non-USA",
    spellings = list(
      also("Price ~ relevel(Origin, ref = \"non-USA\") + Horsepower", list(Origin = "relevel(Origin, ref = \"non-USA\")")),
      also("Price ~ C(Origin, Treatment('non-USA')) + Horsepower", list(Origin = "C(Origin, Treatment('non-USA'))"))
    ),
    locale = session_collate, factors = TRUE
  ),
  case(
    "Cars93_relevel", "Cars93.csv", "MPG.city ~ relevel(DriveTrain, ref = \"Front\") + Weight",
    "relevel(): a reference level chosen",
    spellings = list(also(
      "MPG.city ~ C(DriveTrain, Treatment('Front')) + Weight",
      list(`relevel(DriveTrain, ref = "Front")` = "C(DriveTrain, Treatment('Front'))")
    )),
    factors = TRUE
  ),
  case(
    "Cars93_level_in_dropped_rows", "Cars93.csv", "Price ~ Type + Luggage.room",
    "Type 'Van' only in rows left out (no Luggage.room): not a level"
  ),
  case(
    "Cars93_cylinders", "Cars93.csv", "MPG.city ~ factor(Cylinders) + Weight",
    "numbers and one word ('rotary') inside factor()",
    spellings = list(also("MPG.city ~ C(Cylinders) + Weight", list(`factor(Cylinders)` = "C(Cylinders)")))
  ),
  case(
    "warpbreaks_ordered", "warpbreaks.csv", "breaks ~ wool + ordered(tension, levels = c(\"L\", \"M\", \"H\"))",
    "an ordered factor (a CSV holds no order): R's polynomial contrasts asked for with C(x, contr.poly, levels=[...])",
    spellings = list(also(
      "breaks ~ wool + C(tension, contr.poly, levels=['L', 'M', 'H'])",
      list(`ordered(tension, levels = c("L", "M", "H"))` = "C(tension, contr.poly, levels=['L', 'M', 'H'])")
    )),
    r_text = FALSE
  ),
  case("CO2_treatment", "CO2.csv", "uptake ~ conc + Type + Treatment", "a column named Treatment"),
  case("airquality_date", "airquality.csv", "Ozone ~ Date + Wind", "a Date column: days since 1970-01-01"),
  case("cars_intercept_only", "cars.csv", "dist ~ 1", "the intercept alone", newdata = "new-cars.csv"),
  # the --target/--features route, as the formula beside it
  case(
    "iris_features_no_intercept", "iris.csv", "Sepal.Length ~ Species - 1",
    "--features Species --no-intercept: all levels",
    features = route("Sepal.Length", "Species", intercept = FALSE)
  ),
  case(
    "PlantGrowth_features_no_intercept", "PlantGrowth.csv", "weight ~ group - 1",
    "--features group --no-intercept: all levels, uncentred R^2",
    features = route("weight", "group", intercept = FALSE)
  ),
  case(
    "iris_features", "iris.csv", "Sepal.Length ~ Sepal.Width + Species", "--features with a text column",
    features = route("Sepal.Length", c("Sepal.Width", "Species"))
  ),
  case(
    "mtcars_features_am", "mtcars.csv", "mpg ~ wt + am", "--features with a TRUE/FALSE column",
    features = route("mpg", c("wt", "am"))
  ),
  case(
    "Cars93_features", "Cars93.csv", "Price ~ Horsepower + Origin + DriveTrain", "--features with text columns",
    features = route("Price", c("Horsepower", "Origin", "DriveTrain"))
  ),
  case(
    "airquality_features_date", "airquality.csv", "Ozone ~ Solar.R + Date", "--features with a date column",
    features = route("Ozone", c("Solar.R", "Date"))
  )
)

# ---- what lm() answers ------------------------------------------------------------------------------

factor_levels <- function(fit) { # the levels R coded each factor of the model with
  mf <- model.frame(fit)
  out <- list()
  for (v in names(mf)[-1]) {
    x <- mf[[v]]
    if (is.logical(x) || is.character(x)) x <- factor(x)
    if (is.factor(x)) out[[v]] <- arr(levels(x))
  }
  out
}

# R^2, adjusted R^2 and F as summary.lm gives them; with an offset, as R >= 4.3.0 gives them: R 4.2's
# summary.lm counts the offset in the model's sum of squares (its fitted values include it), which R
# 4.3.0 corrected (PR#18008: "the correct F-statistic when the model contains an offset"), taking the
# fitted values less the offset. Both are kept (`summary_r4.2` holds this R's own).
goodness <- function(fit, s) {
  fs <- s$fstatistic
  own <- list(
    r2 = s$r.squared, adj_r2 = s$adj.r.squared,
    fstatistic = if (is.null(fs)) NULL else list(
      value = unname(fs["value"]), df_model = as.integer(fs["numdf"]), df_resid = as.integer(fs["dendf"])
    )
  )
  if (is.null(fit$offset)) return(own)
  f <- fitted(fit) - fit$offset
  int <- attr(terms(fit), "intercept")
  mss <- if (int == 1) sum((f - mean(f))^2) else sum(f^2)
  rss <- sum(residuals(fit)^2)
  rdf <- df.residual(fit)
  r2 <- mss / (mss + rss)
  list(
    r2 = r2, adj_r2 = 1 - (1 - r2) * ((nobs(fit) - int) / rdf),
    fstatistic = list(value = (mss / (fit$rank - int)) / (rss / rdf), df_model = fit$rank - int, df_resid = rdf),
    `summary_r4.2` = own
  )
}

expected <- function(cs) {
  old <- Sys.getlocale("LC_COLLATE")
  invisible(Sys.setlocale("LC_COLLATE", if (cs$locale == "C") "C" else session_collate))
  on.exit(Sys.setlocale("LC_COLLATE", old))
  d <- read_back(cs$data, cs$factors)
  f <- as.formula(cs$formula)
  fit <- lm(f, data = d)
  s <- summary(fit)
  b <- coef(fit)
  se <- rep(NA_real_, length(b))
  se[!is.na(b)] <- s$coefficients[, "Std. Error"]
  ours <- linearnet_names(fit)
  g <- goodness(fit, s)
  dropped <- fit$na.action
  spellings <- lapply(cs$spellings, function(sp) {
    list(formula = sp$formula, names = arr(linearnet_names(fit, sp$spelled)))
  })
  predicted <- NULL
  if (!is.null(cs$newdata)) {
    nd <- read.csv(path(cs$newdata), check.names = FALSE)
    predicted <- list(newdata = cs$newdata, fit = arr(predict(fit, newdata = nd)))
  }
  list(
    name = cs$name, data = cs$data, construct = cs$construct,
    formula = cs$formula, locale = Sys.getlocale("LC_COLLATE"),
    linearnet = if (is.null(cs$features)) arr(spellings) else NULL,
    features = if (is.null(cs$features)) NULL else list(
      target = cs$features$target, features = arr(cs$features$features), intercept = cs$features$intercept,
      names = arr(ours)
    ),
    intercept = attr(terms(fit), "intercept") == 1,
    offset = !is.null(fit$offset),
    levels = factor_levels(fit),
    coefficients = list(r_names = arr(names(b)), names = arr(ours), values = arr(b)),
    aliased = arr(ours[is.na(b)]),
    se = arr(se),
    sigma = s$sigma, r2 = g$r2, adj_r2 = g$adj_r2, fstatistic = g$fstatistic, `summary_r4.2` = g$`summary_r4.2`,
    n = as.integer(nobs(fit)), rank = as.integer(fit$rank), df_resid = as.integer(df.residual(fit)),
    rows_dropped = arr(if (is.null(dropped)) integer(0) else as.integer(unname(dropped)) - 1L),
    predict = predicted
  )
}

results <- lapply(cases, function(cs) {
  message(cs$name)
  expected(cs)
})

# R's two orders of Cars93's Origin, as the two cases above used them
origin <- unique(as.character(read_back("Cars93.csv")$Origin))
doc <- list(
  generated_by = "Rscript tests/r/make_formula_fixtures.R",
  r_version = R.version.string,
  packages = list(stats = as.character(packageVersion("stats")), MASS = as.character(packageVersion("MASS"))),
  locale = list(
    session_collate = session_collate, icu = unname(capabilities("ICU")),
    origin_levels_session = arr(local({
      invisible(Sys.setlocale("LC_COLLATE", session_collate))
      on.exit(Sys.setlocale("LC_COLLATE", "C"))
      sort(origin)
    })),
    origin_levels_c = arr(sort(origin))
  ),
  cases = results
)
writeLines(to_json(doc), path("expected.json"))
cat("wrote", length(results), "cases to", path("expected.json"), "\n")
