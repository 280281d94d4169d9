//! `History`: every logged value (loss, val_loss, metrics, learning rate) per epoch.

use std::fmt::Write;

/// Per-epoch values, in the order they were first logged (like Keras's `history.history`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    columns: Vec<(String, Vec<f64>)>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        History::default()
    }

    /// Append one epoch's values.
    pub fn push(&mut self, logs: &[(String, f64)]) {
        for (name, value) in logs {
            match self.columns.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(*value),
                None => self.columns.push((name.clone(), vec![*value])),
            }
        }
    }

    /// The values logged under `name` ("loss", "val_loss", "accuracy", ...).
    pub fn get(&self, name: &str) -> Option<&[f64]> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// The names logged.
    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Number of epochs recorded.
    pub fn epochs(&self) -> usize {
        self.columns.first().map_or(0, |(_, v)| v.len())
    }

    /// Read back the CSV written by [`History::to_csv`].
    ///
    /// # Errors
    /// When the header does not start with `epoch` or a value is not a number (names the line).
    pub fn from_csv(text: &str) -> std::result::Result<History, String> {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().ok_or("empty history")?.split(',').collect();
        if header.first() != Some(&"epoch") {
            return Err("the header must start with `epoch`".into());
        }
        let mut history = History::new();
        for (i, line) in lines.enumerate() {
            let values: Vec<&str> = line.split(',').collect();
            if values.len() != header.len() {
                return Err(format!("line {}: {} values for {} columns", i + 2, values.len(), header.len()));
            }
            let row = header[1..]
                .iter()
                .zip(&values[1..])
                .map(|(name, v)| {
                    v.parse::<f64>()
                        .map(|v| (name.to_string(), v))
                        .map_err(|_| format!("line {}: {v:?} is not a number", i + 2))
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            history.push(&row);
        }
        Ok(history)
    }

    /// The table as CSV: `epoch,loss,...` then one row per epoch.
    pub fn to_csv(&self) -> String {
        let mut s = String::from("epoch");
        for (n, _) in &self.columns {
            s.push(',');
            s.push_str(n);
        }
        s.push('\n');
        for e in 0..self.epochs() {
            let _ = write!(s, "{}", e + 1);
            for (_, v) in &self.columns {
                let _ = write!(s, ",{}", v.get(e).copied().unwrap_or(f64::NAN));
            }
            s.push('\n');
        }
        s
    }
}
