# What R computes for linear models on R's own data sets, stored for the tests (which do not need R).
#
# Run from the repository root:  Rscript tests/r/make_fixtures.R
# Writes tests/fixtures/r/*.csv (the data, as R users write them) and tests/fixtures/r/expected.json.
# Needs R >= 4.0 with the packages sandwich and lmtest (no JSON package: a small writer is in json.R).
# Every fit is made on the data as read back from the CSV written, so R and linearnet see the same numbers.
# See tests/r/README.md for the meaning of every field.

suppressPackageStartupMessages({
  library(sandwich)
  library(lmtest)
})

out_dir <- file.path("tests", "fixtures", "r")
if (!dir.exists(out_dir)) stop("run from the repository root: ", out_dir, " not found")

source(file.path("tests", "r", "json.R")) # to_json(), arr(): a small JSON writer

# ---- the data, as R users write them ---------------------------------------------------------------

write_data <- function(df, name, row.names = FALSE) {
  write.csv(df, file.path(out_dir, name), row.names = row.names)
}

read_data <- function(name) {
  first <- readLines(file.path(out_dir, name), n = 1)
  if (startsWith(first, "\"\",")) {
    read.csv(file.path(out_dir, name), check.names = FALSE, row.names = 1)
  } else {
    read.csv(file.path(out_dir, name), check.names = FALSE)
  }
}

mt <- mtcars
mt$w <- 1 / mt$disp * 100 # a weight column for the weighted fits
mt$w0 <- mt$w
mt$w0[c(5, 20)] <- 0 # two rows of weight 0: lm leaves them out of the residual df and of n
write_data(mt, "mtcars.csv", row.names = TRUE) # R's default: the car names as a first, unnamed column
write_data(cars, "cars.csv")
write_data(stackloss, "stackloss.csv")
write_data(cbind(country = rownames(LifeCycleSavings), LifeCycleSavings), "LifeCycleSavings.csv")
write_data(swiss, "swiss.csv")
write_data(trees, "trees.csv")
wo <- women
wo$w <- 1 / wo$height
write_data(wo, "women.csv")
write_data(airquality, "airquality.csv") # its gaps written as NA, as write.csv does
data("PetersenCL", package = "sandwich")
write_data(PetersenCL, "PetersenCL.csv")

# New rows to predict, each with an id column.
write_data(data.frame(id = c("a", "b", "c", "d"), speed = c(4, 12.5, 25, 30)), "new-cars.csv")
write_data(data.frame(
  id = c("m1", "m2", "m3"), wt = c(2.5, 3.2, 4.1), hp = c(110, 150, 230), qsec = c(16.5, 18, 20.2)
), "new-mtcars.csv")
write_data(data.frame(
  id = c("s1", "s2", "s3"), Air.Flow = c(50, 62, 75), Water.Temp = c(18, 22, 26), Acid.Conc. = c(75, 87, 92)
), "new-stackloss.csv")
write_data(data.frame(
  id = c("l1", "l2", "l3"), pop15 = c(25, 35, 45), pop75 = c(1, 2.5, 4), dpi = c(150, 1000, 3000),
  ddpi = c(1, 3.5, 10)
), "new-LifeCycleSavings.csv")
write_data(data.frame(
  id = c("w1", "w2", "w3"), Agriculture = c(20, 50, 80), Examination = c(5, 16, 30),
  Education = c(3, 10, 40), Catholic = c(3, 40, 98), Infant.Mortality = c(15, 20, 25)
), "new-swiss.csv")
write_data(data.frame(id = c("t1", "t2", "t3"), Girth = c(9, 13.5, 19), Height = c(65, 76, 85)), "new-trees.csv")
write_data(data.frame(id = c("h1", "h2", "h3"), height = c(57, 66.5, 75)), "new-women.csv")
write_data(data.frame(
  id = c("q1", "q2", "q3", "q4"), Solar.R = c(50, NA, 200, 320), Wind = c(15, 10, 7.4, 3),
  Temp = c(60, 75, 85, 95)
), "new-airquality.csv") # q2 has a gap: R predicts NA for it
write_data(data.frame(id = c("p1", "p2", "p3"), x = c(-2, 0.25, 3)), "new-PetersenCL.csv")

# ---- the cases -------------------------------------------------------------------------------------

case <- function(name, data, target, features, intercept = TRUE, weights = NULL, cluster = NULL,
                 newdata = NULL, diagnostics = TRUE) {
  list(
    name = name, data = data, target = target, features = features, intercept = intercept,
    weights = weights, cluster = cluster, newdata = newdata, diagnostics = diagnostics
  )
}

cases <- list(
  case("cars", "cars.csv", "dist", "speed", newdata = "new-cars.csv"),
  case("cars_intercept_only", "cars.csv", "dist", character(0), newdata = "new-cars.csv"),
  case("mtcars_cyl", "mtcars.csv", "mpg", c("wt", "hp", "qsec"), cluster = "cyl", newdata = "new-mtcars.csv"),
  case("mtcars_gear", "mtcars.csv", "mpg", c("wt", "hp", "qsec"), cluster = "gear", newdata = "new-mtcars.csv"),
  case("mtcars_weighted", "mtcars.csv", "mpg", c("wt", "hp"), weights = "w", newdata = "new-mtcars.csv"),
  case("mtcars_weighted_zero", "mtcars.csv", "mpg", c("wt", "hp"), weights = "w0", newdata = "new-mtcars.csv"),
  case("mtcars_weighted_cyl", "mtcars.csv", "mpg", c("wt", "hp"),
    weights = "w", cluster = "cyl",
    newdata = "new-mtcars.csv"
  ),
  case("stackloss", "stackloss.csv", "stack.loss", c("Air.Flow", "Water.Temp", "Acid.Conc."),
    newdata = "new-stackloss.csv"
  ),
  case("LifeCycleSavings", "LifeCycleSavings.csv", "sr", c("pop15", "pop75", "dpi", "ddpi"),
    newdata = "new-LifeCycleSavings.csv"
  ),
  case("swiss", "swiss.csv", "Fertility",
    c("Agriculture", "Examination", "Education", "Catholic", "Infant.Mortality"),
    newdata = "new-swiss.csv"
  ),
  case("trees", "trees.csv", "Volume", c("Girth", "Height"), newdata = "new-trees.csv"),
  case("trees_no_intercept", "trees.csv", "Volume", c("Girth", "Height"),
    intercept = FALSE,
    newdata = "new-trees.csv"
  ),
  case("women_weighted", "women.csv", "weight", "height", weights = "w", newdata = "new-women.csv"),
  case("airquality", "airquality.csv", "Ozone", c("Solar.R", "Wind", "Temp"), newdata = "new-airquality.csv"),
  case("PetersenCL", "PetersenCL.csv", "y", "x", cluster = "firm", newdata = "new-PetersenCL.csv", diagnostics = FALSE)
)

# ---- what R computes for one case ---------------------------------------------------------------------

model_formula <- function(cs) {
  rhs <- if (length(cs$features)) paste(sprintf("`%s`", cs$features), collapse = " + ") else "1"
  if (!cs$intercept) rhs <- paste(rhs, "- 1")
  as.formula(paste0("`", cs$target, "` ~ ", rhs), env = parent.frame())
}

inference <- function(fit, V) {
  ct <- coeftest(fit, vcov = V) # t and p on the residual degrees of freedom
  ci <- coefci(fit, vcov = V, level = 0.95)
  list(se = arr(ct[, 2]), t = arr(ct[, 3]), p = arr(ct[, 4]), lower = arr(ci[, 1]), upper = arr(ci[, 2]))
}

# The Wald F test of every coefficient but the intercept (of every one without an intercept), with
# covariance V, as lmtest::waldtest gives it against the intercept-only (the zero) model fitted to the
# same rows and weights; checked against the closed form F = b'V⁻¹b / q.
wald <- function(fit, V, intercept, target) {
  b <- coef(fit)
  keep <- if (intercept) names(b) != "(Intercept)" else rep(TRUE, length(b))
  q <- sum(keep)
  if (q == 0) return(NULL)
  mf <- model.frame(fit)
  d0 <- data.frame(model.response(mf))
  names(d0) <- target
  f0 <- as.formula(paste0("`", target, "` ~ ", if (intercept) "1" else "0"))
  w0 <- model.weights(mf)
  fit0 <- if (is.null(w0)) lm(f0, data = d0) else lm(f0, data = cbind(d0, .weights = w0), weights = .weights)
  wt <- tryCatch(waldtest(fit, fit0, vcov = V, test = "F"), error = function(e) NULL)
  if (is.null(wt)) return(NULL) # V singular on the coefficients tested (a few clusters): R has no F
  f <- wt$F[2]
  closed <- drop(t(b[keep]) %*% solve(V[keep, keep, drop = FALSE]) %*% b[keep]) / q
  stopifnot(abs(f - closed) <= 1e-8 * abs(closed), wt$Df[2] == -q)
  list(F = f, df_model = as.integer(q), df_resid = as.integer(wt$Res.Df[1]), p = wt$`Pr(>F)`[2])
}

predictions <- function(fit, cs) {
  if (is.null(cs$newdata)) return(NULL)
  nd <- read.csv(file.path(out_dir, cs$newdata), check.names = FALSE)
  one <- function(interval, level) {
    args <- list(fit, newdata = nd, interval = interval, level = level)
    if (!is.null(cs$weights) && interval == "prediction") args$weights <- 1 # new rows of weight 1
    p <- do.call(predict, args)
    list(
      newdata = cs$newdata, interval = interval, level = level,
      weights = if (!is.null(cs$weights) && interval == "prediction") 1 else NULL,
      fit = arr(p[, "fit"]), lwr = arr(p[, "lwr"]), upr = arr(p[, "upr"])
    )
  }
  list(one("confidence", 0.95), one("confidence", 0.9), one("prediction", 0.95), one("prediction", 0.9))
}

# The rows stats:::plot.lm labels (id.n = 3) in each panel, as 0-based positions among the rows it
# plots (those of the fit, less any of weight 0) and R's labels. Panel 1 (residuals vs fitted) by
# |residual| (the raw one, weighted or not); panels 2 and 3 (normal Q-Q, scale-location) by
# |standardized residual|; panels 4, 5 and 6 (Cook's distance, residuals vs leverage, Cook's
# distance vs leverage) by Cook's distance. Ties keep the earlier row, as sort.list does. Panel 5 is
# not drawn (NULL) when every leverage is the same. Checked against the labels plot.lm draws.
plot_labels <- function(fit) {
  r <- residuals(fit)
  w <- weights(fit)
  labels <- names(r)
  s <- sqrt(deviance(fit) / df.residual(fit))
  infl <- influence(fit, do.coef = FALSE)
  hii <- infl$hat
  cook <- cooks.distance(fit, infl)
  if (!is.null(w)) {
    nz <- w != 0
    r <- r[nz]
    labels <- labels[nz]
    w <- w[nz]
  }
  rs <- (if (is.null(w)) r else sqrt(w) * r) / (s * sqrt(1 - hii))
  rs[is.infinite(rs)] <- NaN
  stopifnot(length(hii) == length(r), length(cook) == length(r))
  show_r <- sort.list(abs(r), decreasing = TRUE)[1:3]
  show_rs <- sort.list(abs(rs), decreasing = TRUE)[1:3]
  show_cook <- order(-cook)[1:3]
  panel <- function(i) list(index = arr(as.integer(i - 1)), label = arr(labels[i]))
  r_hat <- range(hii, na.rm = TRUE) # all leverages equal (the intercept alone): panel 5 is not drawn
  const_hat <- all(r_hat == 0) || diff(r_hat) < 1e-10 * mean(hii, na.rm = TRUE)
  list(
    residuals_fitted = panel(show_r), qq = panel(show_rs), scale_location = panel(show_rs),
    cooks_distance = panel(show_cook), residuals_leverage = if (const_hat) NULL else panel(show_cook),
    cooks_leverage = panel(show_cook)
  )
}

# The labels plot.lm itself draws in its six panels (each text() call with 3 labels), to check the above.
# (The traced code runs in text.default's frame, whose enclosures end at the global environment: the
# labels are gathered in a global one.)
drawn <- new.env()
drawn_labels <- function(fit) {
  drawn$labels <- list()
  suppressMessages(trace("text.default",
    quote(if (length(labels) == 3) drawn$labels[[length(drawn$labels) + 1]] <- as.character(labels)),
    print = FALSE, where = asNamespace("graphics")
  ))
  on.exit(suppressMessages(untrace("text.default", where = asNamespace("graphics"))))
  grDevices::pdf(NULL)
  suppressMessages(plot(fit, which = 1:6))
  grDevices::dev.off()
  drawn$labels
}

diagnostics <- function(fit) {
  labels <- plot_labels(fit)
  mine <- unname(lapply(Filter(Negate(is.null), labels), function(p) unlist(p$label)))
  stopifnot(identical(mine, drawn_labels(fit)))
  w <- weights(fit)
  nz <- if (is.null(w)) rep(TRUE, length(residuals(fit))) else w != 0
  list(
    fitted = arr(fitted(fit)[nz]), residuals = arr(residuals(fit)[nz]), hatvalues = arr(hatvalues(fit)),
    cooks = arr(cooks.distance(fit)), rstandard = arr(rstandard(fit)), plot_labels = labels
  )
}

# The fit sandwich is given. Rows of weight 0 are left out first: lm leaves them out of n, of the
# residual df, of logLik and of the hat values, but sandwich (3.0) counts them in n (scaling HC0 and
# HC1 by (n_nonzero/n)^2) and, for HC2 and HC3, recycles the shorter vector of hat values with a
# warning. lm on the rows of nonzero weight gives the same coefficients and the same classical
# statistics (checked here), so sandwich on it gives the robust covariances of the weighted fit.
robust_fit <- function(fit, d, f, cs) {
  w <- weights(fit)
  if (is.null(w) || all(w != 0)) return(fit)
  d <- d[d$.weights != 0, , drop = FALSE]
  refit <- lm(f, data = d, weights = .weights)
  same <- function(a, b) isTRUE(all.equal(unname(a), unname(b), tolerance = 1e-12))
  stopifnot(
    same(coef(refit), coef(fit)), same(vcov(refit), vcov(fit)), same(logLik(refit), logLik(fit)),
    nobs(refit) == nobs(fit), df.residual(refit) == df.residual(fit)
  )
  refit
}

expected <- function(cs) {
  d <- read_data(cs$data)
  if (!is.null(cs$weights)) d$.weights <- d[[cs$weights]]
  f <- model_formula(cs)
  fit <- if (is.null(cs$weights)) lm(f, data = d) else lm(f, data = d, weights = .weights)
  s <- summary(fit)
  robust <- robust_fit(fit, d, f, cs)
  types <- c("HC0", "HC1", "HC2", "HC3")
  V <- c(list(classical = vcov(fit)), lapply(setNames(types, types), function(t) vcovHC(robust, type = t)))
  if (!is.null(cs$cluster)) {
    # default cadjust = TRUE: G/(G-1), and type HC1: (n-1)/(n-k)
    V$CL <- vcovCL(robust, cluster = as.formula(paste0("~`", cs$cluster, "`")), type = "HC1")
  }
  inf <- lapply(V, inference, fit = fit)
  fs <- s$fstatistic
  ll <- logLik(fit)
  dropped <- fit$na.action
  res <- list(
    name = cs$name, data = cs$data, target = cs$target, features = arr(cs$features), intercept = cs$intercept,
    weights = cs$weights, cluster = cs$cluster,
    formula = paste(deparse(f), collapse = ""),
    n = as.integer(nobs(fit)), df_resid = as.integer(df.residual(fit)),
    rows_dropped = arr(if (is.null(dropped)) integer(0) else as.integer(unname(dropped)) - 1L),
    coefficients = list(names = arr(names(coef(fit))), values = arr(coef(fit))),
    se = lapply(inf, `[[`, "se"),
    t = lapply(inf, `[[`, "t"),
    p = lapply(inf, `[[`, "p"),
    ci_lower = lapply(inf, `[[`, "lower"),
    ci_upper = lapply(inf, `[[`, "upper"),
    sigma = s$sigma, r2 = s$r.squared, adj_r2 = s$adj.r.squared,
    fstatistic = if (is.null(fs)) NULL else list(
      value = unname(fs["value"]), df_model = as.integer(fs["numdf"]), df_resid = as.integer(fs["dendf"]),
      p = unname(pf(fs["value"], fs["numdf"], fs["dendf"], lower.tail = FALSE))
    ),
    loglik = as.numeric(ll), df_loglik = as.integer(attr(ll, "df")), aic = AIC(fit), bic = BIC(fit),
    rss = deviance(fit),
    wald = lapply(V[names(V) != "classical"], wald, fit = fit, intercept = cs$intercept, target = cs$target),
    wald_classical = wald(fit, V$classical, cs$intercept, cs$target),
    predict = predictions(fit, cs)
  )
  if (cs$diagnostics) res$diagnostics <- diagnostics(fit)
  res
}

results <- lapply(cases, function(cs) {
  message(cs$name)
  expected(cs)
})
doc <- list(
  generated_by = "Rscript tests/r/make_fixtures.R",
  r_version = R.version.string,
  packages = list(
    sandwich = as.character(packageVersion("sandwich")),
    lmtest = as.character(packageVersion("lmtest")),
    stats = as.character(packageVersion("stats"))
  ),
  cases = results
)
writeLines(to_json(doc), file.path(out_dir, "expected.json"))
cat("wrote", length(results), "cases to", file.path(out_dir, "expected.json"), "\n")
