//! Tables: named numeric columns from a CSV file or a built-in dataset. A column whose first
//! value is not a number holds categories (class names), stored as indices with their names.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::data::{gates, iris};
use crate::error::{Error, Result};
use crate::tensor::{Element, Tensor};
use std::path::Path;

/// What to do with an empty field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Missing {
    /// Refuse the file, naming the line and column (the default).
    #[default]
    Error,
    /// Leave the row out.
    Drop,
}

/// What a column must hold when a saved model fixes it: numbers, or one of known classes.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnKind {
    /// Every field a number (text is an error naming the file, line, column and text).
    Number,
    /// Class names, mapped to the indices of this list (a name not in it is an error naming it).
    Classes(Vec<String>),
}

/// A table of numbers with named columns; categorical columns keep their class names.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Column names (from the header, or "column_1", ... without one).
    pub columns: Vec<String>,
    /// Rows of values; a categorical column holds class indices.
    pub rows: Vec<Vec<f64>>,
    /// For each column, its class names if it is categorical.
    pub categories: Vec<Option<Vec<String>>>,
    /// The file's line of each row (empty for built-in tables), for errors about a row.
    pub lines: Vec<u64>,
}

impl Table {
    /// Read a CSV file.
    ///
    /// # Errors
    /// When the file is missing or empty, a row is ragged, a numeric column holds text (the error
    /// names the file, line, column and text), or a field is empty and `missing` is `Error`.
    pub fn from_csv(path: impl AsRef<Path>, has_header: bool, missing: Missing) -> Result<Table> {
        let path = path.as_ref();
        Table::from_csv_with(path, has_header, missing, &[])
    }

    /// [`Table::from_csv`] with the kinds of some columns fixed (by name), as a trained model
    /// fixes them: its features are numbers, its class names keep the indices they had in training
    /// whatever subset of them this file holds. Columns not named are read as by `from_csv`.
    ///
    /// # Errors
    /// As [`Table::from_csv`], and when a fixed column holds text that is not a number or a class
    /// name of its list (naming the file, line, column and text).
    pub fn from_csv_with(
        path: impl AsRef<Path>,
        has_header: bool,
        missing: Missing,
        kinds: &[(String, ColumnKind)],
    ) -> Result<Table> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Table::read(path, file, has_header, missing, kinds)
    }

    /// [`Table::from_csv`] from any reader; `path` names it in errors.
    ///
    /// # Errors
    /// As [`Table::from_csv`].
    pub fn from_csv_reader(
        path: &Path,
        input: impl std::io::Read,
        has_header: bool,
        missing: Missing,
    ) -> Result<Table> {
        Table::read(path, input, has_header, missing, &[])
    }

    fn read(
        path: &Path,
        input: impl std::io::Read,
        has_header: bool,
        missing: Missing,
        kinds: &[(String, ColumnKind)],
    ) -> Result<Table> {
        let parse_err =
            |line: u64, message: String| Error::Parse { path: path.to_path_buf(), line: line as usize, message };
        let mut reader = csv::ReaderBuilder::new().has_headers(has_header).from_reader(input);
        let mut columns: Vec<String> = if has_header {
            reader.headers().map_err(|e| parse_err(1, e.to_string()))?.iter().map(|h| h.trim().to_string()).collect()
        } else {
            Vec::new()
        };
        let mut raw: Vec<(u64, Vec<String>)> = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        parse_err(line, format!("ragged row: {len} fields where the file has {expected_len}"))
                    }
                    _ => parse_err(line, e.to_string()),
                }
            })?;
            let line = record.position().map_or(0, |p| p.line());
            raw.push((line, record.iter().map(|f| f.trim().to_string()).collect()));
        }
        if raw.is_empty() {
            return Err(parse_err(0, "the file has no data rows".into()));
        }
        if columns.is_empty() {
            columns = (1..=raw.first().map_or(0, |(_, f)| f.len())).map(|i| format!("column_{i}")).collect();
        }
        if let Some(dup) = columns.iter().enumerate().find(|(i, c)| columns.iter().take(*i).any(|x| x == *c)) {
            return Err(parse_err(1, format!("column name {:?} appears twice", dup.1)));
        }
        if missing == Missing::Drop {
            raw.retain(|(_, fields)| fields.iter().all(|f| !f.is_empty()));
            if raw.is_empty() {
                return Err(parse_err(0, "every row has a missing value".into()));
            }
        }
        // A column of text holds classes; a column of numbers is numeric. A column mixing both is
        // a mistake in the file (a typo in a number), so the parse below names its first text.
        let fixed =
            |c: usize| columns.get(c).and_then(|name| kinds.iter().find(|(k, _)| k == name)).map(|(_, kind)| kind);
        let categorical: Vec<bool> = (0..columns.len())
            .map(|c| match fixed(c) {
                Some(kind) => matches!(kind, ColumnKind::Classes(_)),
                None => raw
                    .iter()
                    .filter_map(|(_, f)| f.get(c))
                    .filter(|v| !v.is_empty())
                    .all(|v| v.parse::<f64>().is_err()),
            })
            .collect();
        let mut categories: Vec<Option<Vec<String>>> = categorical.iter().map(|&is| is.then(Vec::new)).collect();
        for (c, names) in categories.iter_mut().enumerate() {
            if let Some(ColumnKind::Classes(known)) = fixed(c) {
                *names = Some(known.clone());
            } else if let Some(names) = names {
                let mut all: Vec<String> =
                    raw.iter().filter_map(|(_, f)| f.get(c).cloned()).filter(|v| !v.is_empty()).collect();
                all.sort();
                all.dedup();
                *names = all;
            }
        }
        let mut rows = Vec::with_capacity(raw.len());
        for (line, fields) in &raw {
            let mut row = Vec::with_capacity(columns.len());
            for ((field, column), classes) in fields.iter().zip(&columns).zip(&categories) {
                if field.is_empty() {
                    return Err(parse_err(
                        *line,
                        format!("missing value in column {column:?} (set missing = \"drop\" to skip such rows)"),
                    ));
                }
                let value = match classes {
                    Some(names) => names.iter().position(|n| n == field).ok_or_else(|| {
                        parse_err(
                            *line,
                            format!(
                                "column {column:?}: class {field:?} is not one the model was trained on ({})",
                                names.join(", ")
                            ),
                        )
                    })? as f64,
                    None => field
                        .parse::<f64>()
                        .map_err(|_| parse_err(*line, format!("column {column:?}: {field:?} is not a number")))?,
                };
                row.push(value);
            }
            rows.push(row);
        }
        let lines = raw.iter().map(|(line, _)| *line).collect();
        Ok(Table { columns, rows, categories, lines })
    }

    /// A built-in dataset as a table: `iris` (sepal_length, sepal_width, petal_length,
    /// petal_width, species), `xor`, `and`, `or` (x1, x2, y) and `not` (x, y).
    ///
    /// # Errors
    /// When the name is unknown.
    pub fn builtin(name: &str) -> Result<Table> {
        let gate = |g| -> Result<Table> {
            let (x, y) = gates::truth_table::<f64>(g)?;
            let inputs = x.dims().get(1).copied().unwrap_or(1);
            let columns =
                if inputs == 1 { vec!["x".into(), "y".into()] } else { vec!["x1".into(), "x2".into(), "y".into()] };
            let rows = x
                .data()
                .chunks(inputs)
                .zip(y.data())
                .map(|(row, &t)| row.iter().copied().chain([t]).collect())
                .collect();
            Ok(Table { categories: vec![None; columns.len()], columns, rows, lines: Vec::new() })
        };
        match name {
            "iris" => Ok(Table {
                columns: ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]
                    .map(String::from)
                    .to_vec(),
                rows: iris::FEATURES
                    .iter()
                    .zip(iris::LABELS)
                    .map(|(f, l)| f.iter().copied().chain([f64::from(l)]).collect())
                    .collect(),
                categories: vec![None, None, None, None, Some(iris::CLASS_NAMES.map(String::from).to_vec())],
                lines: Vec::new(),
            }),
            "xor" => gate(gates::Gate::Xor),
            "and" => gate(gates::Gate::And),
            "or" => gate(gates::Gate::Or),
            "not" => gate(gates::Gate::Not),
            other => Err(Error::invalid(
                "data",
                format!("unknown built-in dataset {other:?} (expected one of: iris, xor, and, or, not)"),
            )),
        }
    }

    /// The position of a column, by name, or by 0-based index written as `"#2"`.
    ///
    /// # Errors
    /// When there is no such column (the message lists the columns).
    pub fn column(&self, name: &str) -> Result<usize> {
        if let Some(i) = self.columns.iter().position(|c| c == name) {
            return Ok(i);
        }
        match name.strip_prefix('#').map(str::parse::<usize>) {
            Some(Ok(i)) if i < self.columns.len() => Ok(i),
            _ => Err(Error::invalid(
                "data",
                format!(
                    "no column {name:?} (columns: {}; or by index #0..#{})",
                    self.columns.join(", "),
                    self.columns.len().saturating_sub(1)
                ),
            )),
        }
    }

    /// The named columns of the given rows as a `[rows, columns]` tensor.
    ///
    /// # Errors
    /// When a column is unknown or a row index is out of range.
    pub fn select<T: Element>(&self, names: &[String], rows: &[usize]) -> Result<Tensor<T>> {
        let cols = names.iter().map(|n| self.column(n)).collect::<Result<Vec<_>>>()?;
        let mut data = Vec::with_capacity(rows.len() * cols.len());
        for &r in rows {
            let row = self
                .rows
                .get(r)
                .ok_or_else(|| Error::invalid("data", format!("row {r} is out of range 0..{}", self.rows.len())))?;
            for &c in &cols {
                data.push(T::of(
                    row.get(c).copied().ok_or_else(|| Error::invalid("data", format!("row {r} has no column {c}")))?,
                ));
            }
        }
        Tensor::from_vec(data, [rows.len(), cols.len()])
    }
}
