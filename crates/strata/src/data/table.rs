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
        let mut reader = csv_reader(input, has_header);
        let mut columns: Vec<String> = if has_header {
            reader.headers().map_err(|e| csv_error(path, &e))?.iter().map(|h| h.trim().to_string()).collect()
        } else {
            Vec::new()
        };
        // One pass, no copy of the text: numbers are stored as read; text is interned per column
        // and stored as its id, resolved to sorted class indices at the end.
        let mut scans: Vec<ColumnScan<'_>> = Vec::new();
        let mut rows: Vec<Vec<f64>> = Vec::new();
        let mut lines: Vec<u64> = Vec::new();
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record).map_err(|e| csv_error(path, &e))? {
            let line = record.position().map_or(0, |p| p.line());
            if columns.is_empty() {
                columns = (1..=record.len()).map(|i| format!("column_{i}")).collect();
            }
            if scans.is_empty() {
                if let Some(dup) = columns.iter().enumerate().find(|(i, c)| columns.iter().take(*i).any(|x| x == *c)) {
                    return Err(parse_err(1, format!("column name {:?} appears twice", dup.1)));
                }
                scans = columns.iter().map(|name| ColumnScan::new(name, kinds)).collect();
            }
            if let Some(c) = record.iter().position(|f| f.trim().is_empty()) {
                if missing == Missing::Drop {
                    continue;
                }
                let column = columns.get(c).map_or("?", String::as_str);
                return Err(parse_err(
                    line,
                    format!("missing value in column {column:?} (set missing = \"drop\" to skip such rows)"),
                ));
            }
            let mut row = Vec::with_capacity(columns.len());
            for (c, field) in record.iter().map(str::trim).enumerate() {
                let scan =
                    scans.get_mut(c).ok_or_else(|| parse_err(line, format!("column {c} is beyond the header")))?;
                row.push(scan.value(field, line).map_err(|m| parse_err(line, m))?);
            }
            rows.push(row);
            lines.push(line);
        }
        if rows.is_empty() {
            return Err(parse_err(
                0,
                if missing == Missing::Drop { "every row has a missing value" } else { "the file has no data rows" }
                    .into(),
            ));
        }
        let mut categories: Vec<Option<Vec<String>>> = Vec::with_capacity(columns.len());
        for (c, scan) in scans.iter_mut().enumerate() {
            categories.push(scan.categories(c, &mut rows).map_err(|(line, m)| parse_err(line, m))?);
        }
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
        find_column(&self.columns, name)
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

/// What one pass learns about a column. A column is categorical when it holds no number at all
/// (or a model fixes it so); a column mixing both is a mistake in the file (a typo in a
/// number), named by its first text.
struct ColumnScan<'k> {
    name: String,
    /// The kind a model fixes for it, if any.
    fixed: Option<&'k ColumnKind>,
    /// Its texts, interned in order of appearance.
    texts: Interner,
    /// Where its first text was, and the text.
    first_text: Option<(u64, String)>,
    has_number: bool,
}

impl<'k> ColumnScan<'k> {
    fn new(name: &str, kinds: &'k [(String, ColumnKind)]) -> Self {
        let fixed = kinds.iter().find(|(k, _)| k == name).map(|(_, kind)| kind);
        ColumnScan { name: name.to_string(), fixed, texts: Interner::default(), first_text: None, has_number: false }
    }

    /// The cell's value as stored: a number, a fixed class's index, or a text's id.
    fn value(&mut self, field: &str, line: u64) -> std::result::Result<f64, String> {
        let column = self.name.as_str();
        match self.fixed {
            Some(ColumnKind::Classes(names)) => {
                names.iter().position(|n| n == field).map(|i| i as f64).ok_or_else(|| {
                    format!(
                        "column {column:?}: class {field:?} is not one the model was trained on ({})",
                        names.join(", ")
                    )
                })
            }
            Some(ColumnKind::Number) => parse_number(field, column),
            None if field.parse::<f64>().is_ok() => {
                self.has_number = true;
                parse_number(field, column)
            }
            None => {
                self.first_text.get_or_insert_with(|| (line, field.to_string()));
                Ok(self.texts.id(field) as f64)
            }
        }
    }

    /// The column's class names (None for a number column), with its cells in `rows` (column
    /// `c`) turned from text ids into indices of the sorted names.
    fn categories(
        &mut self,
        c: usize,
        rows: &mut [Vec<f64>],
    ) -> std::result::Result<Option<Vec<String>>, (u64, String)> {
        match (self.fixed, self.first_text.take()) {
            (Some(ColumnKind::Classes(names)), _) => Ok(Some(names.clone())),
            (Some(ColumnKind::Number), _) | (None, None) => Ok(None),
            (None, Some((line, text))) if self.has_number => {
                Err((line, format!("column {:?}: {text:?} is not a number", self.name)))
            }
            (None, Some(_)) => {
                let seen = std::mem::take(&mut self.texts.names);
                let mut sorted = seen.clone();
                sorted.sort();
                let index: Vec<f64> = seen.iter().map(|t| sorted.binary_search(t).map_or(0.0, |i| i as f64)).collect();
                for row in rows.iter_mut() {
                    if let Some(cell) = row.get_mut(c) {
                        *cell = index.get(*cell as usize).copied().unwrap_or(0.0);
                    }
                }
                Ok(Some(sorted))
            }
        }
    }
}

/// The distinct texts of a column in order of appearance, each looked up in constant time (a
/// linear search per cell made a column of a million distinct labels quadratic).
#[derive(Default)]
struct Interner {
    names: Vec<String>,
    ids: std::collections::HashMap<String, usize>,
}

impl Interner {
    fn id(&mut self, text: &str) -> usize {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        self.names.push(text.to_string());
        self.ids.insert(text.to_string(), self.names.len() - 1);
        self.names.len() - 1
    }
}

/// The position of column `name` among `columns`, or by 0-based index written as `"#2"`.
fn find_column(columns: &[String], name: &str) -> Result<usize> {
    if let Some(i) = columns.iter().position(|c| c == name) {
        return Ok(i);
    }
    match name.strip_prefix('#').map(str::parse::<usize>) {
        Some(Ok(i)) if i < columns.len() => Ok(i),
        _ => Err(Error::invalid(
            "data",
            format!(
                "no column {name:?} (columns: {}; or by index #0..#{})",
                columns.join(", "),
                columns.len().saturating_sub(1)
            ),
        )),
    }
}

/// A number field: parsed, finite, and within f32's range (strata trains in f32), or a message
/// naming the column and the text. Checked where the file and line are known: later it would be
/// a NaN loss at some batch, or NaN predictions with a class label.
fn parse_number(field: &str, column: &str) -> std::result::Result<f64, String> {
    let v = field.parse::<f64>().map_err(|_| format!("column {column:?}: {field:?} is not a number"))?;
    if !v.is_finite() {
        return Err(format!("column {column:?}: {field:?} is not a finite number"));
    }
    if (v as f32).is_infinite() {
        return Err(format!("column {column:?}: {field} is beyond the range of f32 (about ±3.4e38)"));
    }
    Ok(v)
}

/// Longest line a CSV reader accepts (8 MiB: a row of a million short numbers fits). Without a
/// cap a file with no newline (`/dev/zero`, a binary file) would be read into one record until
/// memory runs out.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// A reader that fails once a line exceeds [`MAX_LINE_BYTES`], naming the line.
struct LineCap<R> {
    inner: R,
    since_newline: usize,
    line: u64,
}

impl<R: std::io::Read> std::io::Read for LineCap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in buf.get(..n).unwrap_or(&[]) {
            if b == b'\n' {
                self.line += 1;
                self.since_newline = 0;
            } else {
                self.since_newline += 1;
                if self.since_newline > MAX_LINE_BYTES {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("line {} is longer than {} MiB", self.line + 1, MAX_LINE_BYTES >> 20),
                    ));
                }
            }
        }
        Ok(n)
    }
}

/// The CSV reader every table and prediction input goes through: lines capped, fields trimmed
/// by the callers.
fn csv_reader<R: std::io::Read>(input: R, has_header: bool) -> csv::Reader<LineCap<R>> {
    csv::ReaderBuilder::new().has_headers(has_header).from_reader(LineCap { inner: input, since_newline: 0, line: 0 })
}

/// A CSV reader's error with the file and line, ragged rows said in words.
fn csv_error(path: &Path, e: &csv::Error) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("ragged row: {len} fields where the file has {expected_len}")
        }
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    };
    Error::Parse { path: path.to_path_buf(), line: line as usize, message }
}

/// The named numeric columns of a CSV file, read in batches of rows (for prediction: memory
/// holds one batch whatever the file's size). Fields are checked as [`Table`] checks numbers.
pub struct NumericBatches<R: std::io::Read> {
    path: std::path::PathBuf,
    reader: csv::Reader<LineCap<R>>,
    names: Vec<String>,
    /// The columns' positions, known after the header (or the first row, without one).
    positions: Option<Vec<usize>>,
    record: csv::StringRecord,
    /// A record read to learn the width of a file without a header, not yet returned.
    held: bool,
}

impl NumericBatches<std::io::BufReader<std::fs::File>> {
    /// Open `path` to read the columns `names` (by name, `column_N` without a header, or `#i`).
    ///
    /// # Errors
    /// When the file cannot be opened or its header read, or a column is missing.
    pub fn open(path: &Path, has_header: bool, names: &[String]) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        NumericBatches::new(path, std::io::BufReader::new(file), has_header, names)
    }
}

impl<R: std::io::Read> NumericBatches<R> {
    /// As [`NumericBatches::open`] from any reader; `path` names it in errors.
    ///
    /// # Errors
    /// As [`NumericBatches::open`].
    pub fn new(path: &Path, input: R, has_header: bool, names: &[String]) -> Result<Self> {
        let mut batches = NumericBatches {
            path: path.to_path_buf(),
            reader: csv_reader(input, has_header),
            names: names.to_vec(),
            positions: None,
            record: csv::StringRecord::new(),
            held: false,
        };
        let columns: Vec<String> = if has_header {
            batches.reader.headers().map_err(|e| csv_error(path, &e))?.iter().map(|h| h.trim().to_string()).collect()
        } else if batches.reader.read_record(&mut batches.record).map_err(|e| csv_error(path, &e))? {
            batches.held = true;
            (1..=batches.record.len()).map(|i| format!("column_{i}")).collect()
        } else {
            Vec::new()
        };
        if !columns.is_empty() || has_header {
            let positions = names
                .iter()
                .map(|n| {
                    find_column(&columns, n).map_err(|e| Error::Parse {
                        path: path.to_path_buf(),
                        line: 1,
                        message: e.to_string(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            batches.positions = Some(positions);
        }
        Ok(batches)
    }

    /// Up to `rows` more rows as `[n, columns]`; `None` once the file is done.
    ///
    /// # Errors
    /// When a field is empty, not a number, not finite or beyond f32's range (naming the file,
    /// line, column and text), or a row is ragged or too long.
    pub fn next_batch<T: Element>(&mut self, rows: usize) -> Result<Option<Tensor<T>>> {
        let Some(positions) = self.positions.as_ref() else { return Ok(None) };
        let mut data: Vec<T> = Vec::with_capacity(rows.min(1 << 16) * positions.len());
        let mut n = 0;
        while n < rows {
            if !std::mem::take(&mut self.held)
                && !self.reader.read_record(&mut self.record).map_err(|e| csv_error(&self.path, &e))?
            {
                break;
            }
            let line = self.record.position().map_or(0, |p| p.line());
            let bad = |message: String| Error::Parse { path: self.path.clone(), line: line as usize, message };
            for (&c, name) in positions.iter().zip(&self.names) {
                let field = self.record.get(c).map(str::trim).unwrap_or("");
                if field.is_empty() {
                    return Err(bad(format!("missing value in column {name:?}")));
                }
                data.push(T::of(parse_number(field, name).map_err(bad)?));
            }
            n += 1;
        }
        if n == 0 {
            return Ok(None);
        }
        Tensor::from_vec(data, [n, positions.len()]).map(Some)
    }
}
