//! The per-epoch progress bar of `fit(verbose = 1)`, written to standard error.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const WIDTH: usize = 30;

/// A Keras-style bar: `12/15 [========>.....] - ETA: 0.3s - loss: 0.1234`.
pub(crate) struct ProgressBar {
    total: usize,
    start: Instant,
    last_draw: Option<Instant>,
    interactive: bool,
}

impl ProgressBar {
    pub(crate) fn new(total: usize) -> Self {
        ProgressBar { total, start: Instant::now(), last_draw: None, interactive: std::io::stderr().is_terminal() }
    }

    /// Redraw after `done` steps (at most every 50 ms); the last step is drawn by `finish`.
    pub(crate) fn update(&mut self, done: usize, logs: &[(String, f64)]) {
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
        self.draw(done, logs);
    }

    /// The epoch's final line, with every value logged (validation included).
    pub(crate) fn finish(&mut self, logs: &[(String, f64)]) {
        self.draw(self.total, logs);
    }

    fn draw(&self, done: usize, logs: &[(String, f64)]) {
        let finished = done >= self.total;
        let elapsed = self.start.elapsed().as_secs_f64();
        let filled = WIDTH * done / self.total.max(1);
        let arrow = if finished { String::new() } else { ">".into() };
        let bar = format!("{}{}{}", "=".repeat(filled), arrow, ".".repeat(WIDTH.saturating_sub(filled + arrow.len())));
        let timing = if finished {
            format!("{elapsed:.2}s {:.0}us/step", elapsed * 1e6 / self.total.max(1) as f64)
        } else {
            let eta = elapsed / done.max(1) as f64 * (self.total - done) as f64;
            format!("ETA: {eta:.1}s")
        };
        let values: String = logs.iter().map(|(k, v)| format!(" - {k}: {v:.4}")).collect();
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{done:>w$}/{} [{bar}] - {timing}{values}\x1b[K",
            self.total,
            w = self.total.to_string().len()
        );
        if finished {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}
