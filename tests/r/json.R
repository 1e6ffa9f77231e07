# A small JSON writer for the fixture scripts (R has none built in; no package needed).
# Use:  source(file.path("tests", "r", "json.R"))  then  writeLines(to_json(x), path).
#
# A named list is an object; an unnamed list is an array; an atomic vector of length 1 is a scalar
# and a longer one an array (wrap with arr() to force an array of any length). Numbers are written
# with 17 significant digits (they read back as the same double); NA and NaN are null.

arr <- function(x) structure(as.list(unname(x)), json_array = TRUE)

json_string <- function(s) {
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  s <- gsub("\n", "\\n", s, fixed = TRUE)
  s <- gsub("\t", "\\t", s, fixed = TRUE)
  paste0("\"", s, "\"")
}

json_scalar <- function(x) {
  if (is.null(x) || (length(x) == 1 && is.na(x))) return("null")
  if (is.logical(x)) return(if (x) "true" else "false")
  if (is.character(x) || is.factor(x)) return(json_string(as.character(x)))
  if (is.integer(x)) return(sprintf("%d", x))
  if (is.infinite(x)) return(if (x > 0) "\"Infinity\"" else "\"-Infinity\"")
  sprintf("%.17g", x)
}

to_json <- function(x, indent = 0) {
  pad <- strrep("  ", indent + 1)
  end <- strrep("  ", indent)
  if (is.null(x)) return("null")
  if (is.list(x) && !is.null(names(x)) && is.null(attr(x, "json_array"))) {
    if (length(x) == 0) return("{}")
    items <- vapply(names(x), function(k) paste0(pad, json_string(k), ": ", to_json(x[[k]], indent + 1)), "")
    return(paste0("{\n", paste(items, collapse = ",\n"), "\n", end, "}"))
  }
  if (is.list(x)) {
    if (length(x) == 0) return("[]")
    parts <- vapply(x, function(v) to_json(v, indent + 1), "")
    if (all(vapply(x, function(v) !is.list(v), TRUE))) return(paste0("[", paste(parts, collapse = ", "), "]"))
    return(paste0("[\n", paste0(pad, parts, collapse = ",\n"), "\n", end, "]"))
  }
  if (length(x) == 1) return(json_scalar(x))
  to_json(arr(x), indent)
}
