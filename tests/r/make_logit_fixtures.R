# What R computes for logistic and multinomial logit models on R's own data sets, stored for the tests
# (which do not need R).
#
# Run from the repository root:  Rscript tests/r/make_logit_fixtures.R
# Writes tests/fixtures/r/logit-*.csv (the data, as R users write them) and tests/fixtures/r/logit.json.
# Needs R >= 4.0 with the packages MASS and nnet (no JSON package: a small writer is in json.R).
# Every fit is made on the data as read back from the CSV written, so R and linearnet see the same numbers.
# Each case is fitted by glm (two classes), by nnet::multinom, and by a plain Newton iteration with the
# exact Hessian written below (the reference: nnet's BFGS stops short of the optimum, and in the binary
# case nnet clamps its sigmoid). See tests/r/README.md for the meaning of every field.

suppressPackageStartupMessages({
  library(MASS)
  library(nnet)
})

out_dir <- file.path("tests", "fixtures", "r")
if (!dir.exists(out_dir)) stop("run from the repository root: ", out_dir, " not found")

source(file.path("tests", "r", "json.R")) # to_json(), arr(): a small JSON writer

# ---- the data, as R users write them ---------------------------------------------------------------
# Only numeric features: factors are written as 0/1 columns, so that the model is target ~ features.

write_data <- function(df, name) write.csv(df, file.path(out_dir, name), row.names = FALSE)
read_data <- function(name) read.csv(file.path(out_dir, name), check.names = FALSE)
dummy <- function(x, level) as.integer(x == level)

ivv <- droplevels(iris[iris$Species != "setosa", ])
write_data(data.frame(ivv[, 1:4], Species = as.character(ivv$Species)), "logit-iris-versicolor-virginica.csv")
write_data(data.frame(iris[, 1:4], Species = as.character(iris$Species)), "logit-iris.csv")
write_data(data.frame(Pima.tr[, 1:7], type = as.character(Pima.tr$type)), "logit-Pima.tr.csv")

races <- c("white", "black", "other") # MASS::birthwt's codes 1, 2, 3
bw <- data.frame(
  low = birthwt$low, race = races[birthwt$race], age = birthwt$age, lwt = birthwt$lwt, smoke = birthwt$smoke,
  race_white = dummy(birthwt$race, 1), race_black = dummy(birthwt$race, 2), race_other = dummy(birthwt$race, 3)
)
write_data(bw, "logit-birthwt.csv")
write_data(mtcars[, c("am", "wt", "hp")], "logit-mtcars.csv")
write_data(infert[, c("case", "age", "parity", "induced", "spontaneous")], "logit-infert.csv")
write_data(data.frame(
  tension = as.character(warpbreaks$tension), breaks = warpbreaks$breaks,
  woolA = dummy(warpbreaks$wool, "A"), woolB = dummy(warpbreaks$wool, "B")
), "logit-warpbreaks.csv")
sv <- na.omit(survey[, c("Exer", "Pulse", "Age")]) # 192 of 237 rows: 45 without a pulse
write_data(data.frame(Exer = as.character(sv$Exer), Pulse = sv$Pulse, Age = sv$Age), "logit-survey.csv")
write_data(data.frame(feed = as.character(chickwts$feed), weight = chickwts$weight), "logit-chickwts.csv")

# ---- the cases -------------------------------------------------------------------------------------
# levels: the classes in R's order, the reference (R's first level) first. glm models the probability
# of the second level. separated: no finite optimum (glm and multinom are stored, not the Newton
# reference). aliased: columns R finds linearly dependent on the earlier ones (glm gives NA).

case <- function(name, data, target, levels, features, glm = length(levels) == 2, separated = FALSE,
                 aliased = character(0)) {
  list(
    name = name, data = data, target = target, levels = levels, features = features, glm = glm,
    separated = separated, aliased = aliased
  )
}

measurements <- c("Sepal.Length", "Sepal.Width", "Petal.Length", "Petal.Width")
cases <- list(
  case("iris_versicolor_virginica", "logit-iris-versicolor-virginica.csv", "Species",
    c("versicolor", "virginica"), measurements),
  case("Pima.tr", "logit-Pima.tr.csv", "type", c("No", "Yes"), c("npreg", "glu", "bp", "skin", "bmi", "ped", "age")),
  case("birthwt_low", "logit-birthwt.csv", "low", c("0", "1"), c("age", "lwt", "smoke", "race_black", "race_other")),
  case("mtcars_am", "logit-mtcars.csv", "am", c("0", "1"), c("wt", "hp")),
  case("infert", "logit-infert.csv", "case", c("0", "1"), c("age", "parity", "induced", "spontaneous")),
  case("birthwt_race", "logit-birthwt.csv", "race", races, c("age", "lwt", "smoke")),
  case("warpbreaks_tension", "logit-warpbreaks.csv", "tension", c("L", "M", "H"), c("breaks", "woolB")),
  case("survey_exer", "logit-survey.csv", "Exer", c("Freq", "None", "Some"), c("Pulse", "Age")),
  case("chickwts_feed", "logit-chickwts.csv", "feed",
    c("casein", "horsebean", "linseed", "meatmeal", "soybean", "sunflower"), "weight"),
  case("iris_setosa_rest", "logit-iris.csv", "Species", c("other", "setosa"), measurements, separated = TRUE),
  case("iris_3class", "logit-iris.csv", "Species", c("setosa", "versicolor", "virginica"), measurements,
    separated = TRUE),
  case("birthwt_low_aliased", "logit-birthwt.csv", "low", c("0", "1"),
    c("age", "lwt", "smoke", "race_white", "race_black", "race_other"),
    aliased = "race_other"),
  case("warpbreaks_aliased", "logit-warpbreaks.csv", "tension", c("L", "M", "H"), c("breaks", "woolA", "woolB"),
    aliased = "woolB")
)

# ---- fitting ---------------------------------------------------------------------------------------

# The value of expr and the warnings it gave (their messages, muffled).
with_warnings <- function(expr) {
  said <- character(0)
  value <- withCallingHandlers(expr, warning = function(w) {
    said <<- c(said, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  list(value = value, warnings = said)
}

model_formula <- function(cs) {
  as.formula(paste0("`", cs$target, "` ~ ", paste(sprintf("`%s`", cs$features), collapse = " + ")))
}

# The case's data as read back, the target a factor with the case's levels (iris_setosa_rest: the
# species other than setosa become "other").
model_data <- function(cs) {
  d <- read_data(cs$data)
  y <- as.character(d[[cs$target]])
  if (cs$name == "iris_setosa_rest") y[y != "setosa"] <- "other"
  stopifnot(all(y %in% cs$levels))
  d[[cs$target]] <- factor(y, levels = cs$levels)
  d
}

# Per-class statistics (rows: the non-reference classes) as JSON: names, then a matrix by rows.
by_class <- function(m) lapply(seq_len(nrow(m)), function(i) arr(m[i, ]))

# glm's rank tolerance is min(1e-7, epsilon / 1000): with epsilon = 1e-15 it misses an exact dummy trap
# (and runs off to coefficients of 5e14), so aliased designs are fitted with R's default epsilon, 1e-8.
fit_glm <- function(cs, d) {
  epsilon <- if (length(cs$aliased)) 1e-8 else 1e-15
  r <- with_warnings(glm(model_formula(cs), family = binomial, data = d,
                         control = glm.control(epsilon = epsilon, maxit = 100)))
  fit <- r$value
  ct <- coef(summary(fit)) # rows of the NA (aliased) coefficients left out
  b <- coef(fit)
  full <- function(col) {
    v <- setNames(rep(NA_real_, length(b)), names(b))
    v[rownames(ct)] <- ct[, col]
    arr(v)
  }
  list(
    epsilon = epsilon, names = arr(names(b)), coefficients = list(arr(b)), se = list(full(2)), z = list(full(3)), p = list(full(4)),
    loglik = as.numeric(logLik(fit)), deviance = deviance(fit), null_deviance = fit$null.deviance,
    aic = AIC(fit), bic = BIC(fit), df = as.integer(attr(logLik(fit), "df")), iterations = as.integer(fit$iter),
    converged = fit$converged, boundary = fit$boundary, warnings = arr(r$warnings),
    fitted = if (length(cs$aliased)) arr(fitted(fit)) else NULL
  )
}

fit_multinom <- function(cs, d) {
  r <- with_warnings(multinom(model_formula(cs), data = d, maxit = 10000, reltol = 1e-16, abstol = 1e-300,
                              Hess = TRUE, trace = FALSE))
  fit <- r$value
  s <- with_warnings(summary(fit))
  b <- coef(fit)
  se <- s$value$standard.errors
  if (is.null(dim(b))) { # two classes: vectors
    b <- t(b)
    se <- t(se)
  }
  z <- b / se
  ll <- as.numeric(logLik(fit))
  list(
    names = arr(colnames(b)), coefficients = by_class(b), se = by_class(se), z = by_class(z),
    p = by_class(2 * pnorm(-abs(z))), loglik = ll, deviance = deviance(fit), aic = AIC(fit),
    bic = -2 * ll + fit$edf * log(nrow(d)), df = as.integer(fit$edf), value = fit$value,
    convergence = as.integer(fit$convergence), converged = fit$convergence == 0,
    warnings = arr(c(r$warnings, s$warnings))
  )
}

# The log-likelihood of the multinomial logit with coefficients B (p × (K-1); the reference's are 0),
# the probabilities P of the non-reference classes and Y their indicators.
multinomial_state <- function(X, Y, B) {
  eta <- X %*% B
  top <- pmax(0, apply(eta, 1, max))
  e <- exp(eta - top)
  denom <- exp(-top) + rowSums(e)
  list(P = e / denom, loglik = sum(Y * eta) - sum(top + log(denom)))
}

# The information matrix (the negative Hessian of the log-likelihood), class-major: block (j, k) is
# X' diag(p_j (δ_jk - p_k)) X.
information <- function(X, P) {
  p <- ncol(X)
  m <- ncol(P)
  H <- matrix(0, p * m, p * m)
  for (j in seq_len(m)) for (k in seq_len(m)) {
    w <- P[, j] * ((j == k) - P[, k])
    H[(j - 1) * p + seq_len(p), (k - 1) * p + seq_len(p)] <- crossprod(X, X * w)
  }
  H
}

# Newton's method with the exact Hessian from B = 0, until the step is below 1e-15 of the largest
# coefficient, or (once below 1e-10) stops shrinking: the rounding floor of float64.
newton <- function(X, y, K) {
  Y <- outer(as.integer(y), 2:K, "==") * 1
  B <- matrix(0, ncol(X), K - 1)
  last <- Inf
  for (it in 1:200) {
    s <- multinomial_state(X, Y, B)
    g <- as.vector(crossprod(X, Y - s$P))
    R <- chol(information(X, s$P))
    step <- backsolve(R, forwardsolve(t(R), g))
    B <- B + step
    rel <- max(abs(step)) / max(abs(B))
    if (rel < 1e-15 || (rel < 1e-10 && rel >= last)) break
    last <- rel
  }
  stopifnot(it < 200, rel < 1e-12)
  s <- multinomial_state(X, Y, B)
  V <- chol2inv(chol(information(X, s$P)))
  list(B = B, V = V, loglik = s$loglik, iterations = it, last_step = rel,
       max_gradient = max(abs(crossprod(X, Y - s$P))))
}

fit_newton <- function(cs, d) {
  keep <- setdiff(cs$features, cs$aliased)
  X <- cbind(`(Intercept)` = 1, as.matrix(d[, keep, drop = FALSE]))
  K <- length(cs$levels)
  r <- newton(X, d[[cs$target]], K)
  se <- matrix(sqrt(diag(r$V)), ncol(X), K - 1)
  z <- r$B / se
  n_k <- tabulate(as.integer(d[[cs$target]]), K)
  null_ll <- sum(n_k[n_k > 0] * log(n_k[n_k > 0] / nrow(d)))
  k <- length(r$B)
  list(
    names = arr(colnames(X)), coefficients = by_class(t(r$B)), se = by_class(t(se)), z = by_class(t(z)),
    p = by_class(t(2 * pnorm(-abs(z)))), cov = lapply(seq_len(nrow(r$V)), function(i) arr(r$V[i, ])),
    loglik = r$loglik, null_loglik = null_ll, deviance = -2 * r$loglik, null_deviance = -2 * null_ll,
    aic = -2 * r$loglik + 2 * k, bic = -2 * r$loglik + k * log(nrow(d)), df = as.integer(k),
    iterations = as.integer(r$iterations), last_step = r$last_step, max_gradient = r$max_gradient
  )
}

expected <- function(cs) {
  d <- model_data(cs)
  res <- list(
    name = cs$name, data = cs$data, target = cs$target, features = arr(cs$features), levels = arr(cs$levels),
    reference = cs$levels[1], n = nrow(d), counts = arr(tabulate(as.integer(d[[cs$target]]), length(cs$levels))),
    separated = cs$separated, aliased = arr(cs$aliased),
    formula = paste(deparse(model_formula(cs)), collapse = "")
  )
  res["glm"] <- list(if (cs$glm) fit_glm(cs, d) else NULL)
  res["multinom"] <- list(if (length(cs$aliased)) NULL else fit_multinom(cs, d))
  res["newton_r"] <- list(if (cs$separated) NULL else fit_newton(cs, d))
  if (!is.null(res$glm) && !cs$separated) { # glm agrees with the reference: both found the optimum
    nr <- res$newton_r
    b <- unlist(res$glm$coefficients)
    tol <- if (length(cs$aliased)) 1e-6 else 1e-10
    stopifnot(abs(res$glm$loglik - nr$loglik) < tol * abs(nr$loglik),
              max(abs(b[!is.na(b)] - unlist(nr$coefficients))) < tol * max(abs(b), na.rm = TRUE))
  }
  res
}

results <- lapply(cases, function(cs) {
  message(cs$name)
  expected(cs)
})
doc <- list(
  generated_by = "Rscript tests/r/make_logit_fixtures.R",
  r_version = R.version.string,
  packages = list(
    stats = as.character(packageVersion("stats")),
    nnet = as.character(packageVersion("nnet")),
    MASS = as.character(packageVersion("MASS"))
  ),
  cases = results
)
writeLines(to_json(doc), file.path(out_dir, "logit.json"))
cat("wrote", length(results), "cases to", file.path(out_dir, "logit.json"), "\n")
