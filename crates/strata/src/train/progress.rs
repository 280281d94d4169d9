//! The per-epoch progress bar of `fit(verbose = 1)`, written to standard error.
//!
//! In a terminal it redraws one line, never wider than the terminal (`COLUMNS`, else 80), so
//! nothing wraps into scrollback: a wrapped line cannot be redrawn by `\r`, and every redraw
//! would leave a copy behind. Anywhere else (a log file, a pipe) it writes one plain line per
//! epoch, without `\r` or escape codes.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Widest and narrowest bar, in characters.
const BAR_MAX: usize = 30;
const BAR_MIN: usize = 10;

/// A Keras-style bar: `12/15 [========>.....] - ETA: 0.3s - loss: 0.1234`.
pub(crate) struct ProgressBar {
    total: usize,
    start: Instant,
    last_draw: Option<Instant>,
    interactive: bool,
    columns: usize,
    /// "Epoch 3/10", written above the bar in a terminal and at the start of the line elsewhere.
    epoch_label: String,
}

impl ProgressBar {
    pub(crate) fn new(total: usize, epoch: usize, epochs: usize) -> Self {
        let interactive = std::io::stderr().is_terminal();
        let columns =
            std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse().ok()).filter(|&c| c >= 20).unwrap_or(80);
        let epoch_label = format!("Epoch {}/{epochs}", epoch + 1);
        if interactive {
            eprintln!("{epoch_label}");
        }
        ProgressBar { total, start: Instant::now(), last_draw: None, interactive, columns, epoch_label }
    }

    /// Redraw after `done` steps (at most every 50 ms); the last step is drawn by `finish`.
    /// `logs` runs only when a line is drawn: an epoch-wide metric (AUC sorts every score so
    /// far) must not be recomputed at every step.
    pub(crate) fn update(&mut self, done: usize, logs: impl FnOnce() -> Vec<(String, f64)>) {
        // In a log file (not a terminal) only the epoch's final line is worth writing.
        if !self.interactive {
            return;
        }
        let now = Instant::now();
        let recent = self.last_draw.is_some_and(|t| now - t < Duration::from_millis(50));
        if done >= self.total || recent {
            return;
        }
        self.last_draw = Some(now);
        let (line, _) = bar_line(done, self.total, self.start.elapsed().as_secs_f64(), &logs(), self.columns - 1);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
    }

    /// The epoch's final line, with every value logged (validation included).
    pub(crate) fn finish(&mut self, logs: &[(String, f64)]) {
        let elapsed = self.start.elapsed().as_secs_f64();
        let mut err = std::io::stderr().lock();
        if self.interactive {
            let (line, rest) = bar_line(self.total, self.total, elapsed, logs, self.columns - 1);
            let _ = writeln!(err, "\r{line}\x1b[K");
            // What did not fit goes on lines of its own, each within the terminal's width.
            for extra in wrap(&rest, self.columns - 1) {
                let _ = writeln!(err, "{extra}");
            }
        } else {
            let values: String = logs.iter().map(|(k, v)| format!(" - {k}: {}", value(*v))).collect();
            let _ =
                writeln!(err, "{} - {} steps - {}{values}", self.epoch_label, self.total, timing(elapsed, self.total));
        }
        let _ = err.flush();
    }
}

/// A logged value with four decimals, or in scientific notation when that would show nothing.
pub(crate) fn value(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

fn timing(elapsed: f64, steps: usize) -> String {
    format!("{elapsed:.2}s {:.0}us/step", elapsed * 1e6 / steps.max(1) as f64)
}

/// The bar's line within `width` characters, and the `- name: value` items that did not fit.
/// The bar shrinks from 30 to 10 characters before values are left out.
fn bar_line(done: usize, total: usize, elapsed: f64, logs: &[(String, f64)], width: usize) -> (String, Vec<String>) {
    let finished = done >= total;
    let time = if finished {
        timing(elapsed, total)
    } else {
        format!("ETA: {:.1}s", elapsed / done.max(1) as f64 * (total - done) as f64)
    };
    let count = format!("{done:>w$}/{total}", w = total.to_string().len());
    let items: Vec<String> = logs.iter().map(|(k, v)| format!(" - {k}: {}", value(*v))).collect();
    // Fixed parts: "count [" + bar + "] - " + time.
    let fixed = count.len() + 2 + 3 + time.len() + 1;
    let bar_width = width.saturating_sub(fixed).clamp(BAR_MIN, BAR_MAX);
    let filled = bar_width * done / total.max(1);
    let arrow = if finished { "" } else { ">" };
    let bar = format!("{}{arrow}{}", "=".repeat(filled), ".".repeat(bar_width.saturating_sub(filled + arrow.len())));
    let mut line = format!("{count} [{bar}] - {time}");
    let mut rest = Vec::new();
    for item in items {
        if rest.is_empty() && line.chars().count() + item.chars().count() <= width {
            line += &item;
        } else {
            rest.push(item);
        }
    }
    if line.chars().count() > width {
        line = line.chars().take(width).collect();
    }
    (line, rest)
}

/// Items (" - name: value") packed into lines of at most `width` characters, indented.
fn wrap(items: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::from(" ");
    for item in items {
        let item = item.trim_start_matches(" - ");
        let piece = if current.trim().is_empty() { format!(" {item}") } else { format!(" - {item}") };
        if current.chars().count() + piece.chars().count() > width && !current.trim().is_empty() {
            lines.push(std::mem::replace(&mut current, String::from(" ")));
            current += &format!(" {item}");
        } else {
            current += &piece;
        }
    }
    if !current.trim().is_empty() {
        lines.push(current);
    }
    lines.into_iter().map(|l| l.chars().take(width).collect()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)] // tests may panic: that is how they fail
mod tests {
    use super::*;

    fn logs() -> Vec<(String, f64)> {
        ["loss", "sparse_categorical_accuracy", "val_loss", "val_sparse_categorical_accuracy", "learning_rate"]
            .iter()
            .map(|k| (k.to_string(), 0.123456))
            .collect()
    }

    /// Fashion-MNIST's 1875 steps with long metric names: every redraw and the final lines fit
    /// 79 columns (an 80-column terminal), and nothing logged is lost.
    #[test]
    fn lines_fit_an_80_column_terminal() {
        for done in [1, 937, 1874, 1875] {
            let (line, rest) = bar_line(done, 1875, 12.5, &logs(), 79);
            assert!(line.chars().count() <= 79, "{} columns: {line}", line.chars().count());
            // One " - " opens the timing; every other opens a logged value.
            let shown = line.matches(" - ").count() - 1 + rest.len();
            assert_eq!(shown, 5, "{line} / {rest:?}");
            for extra in wrap(&rest, 79) {
                assert!(extra.chars().count() <= 79, "{extra}");
            }
        }
        // A wide terminal takes everything on one line.
        let (line, rest) = bar_line(1875, 1875, 12.5, &logs(), 240);
        assert!(rest.is_empty() && line.contains("val_sparse_categorical_accuracy: 0.1235"), "{line}");
    }

    #[test]
    fn small_values_keep_their_digits() {
        assert_eq!(value(3.9e-5), "3.900e-5");
        assert_eq!(value(0.25), "0.2500");
        assert_eq!(value(0.0), "0.0000");
    }
}
