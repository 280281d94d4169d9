//! Lecture 004's Fashion-MNIST classifier: Flatten -> Dense 128 ReLU -> Dense 10 softmax, Adam,
//! sparse categorical cross-entropy, batch 32, 5 epochs.
//!
//! Run: `cargo run --release --example fashion_mnist -- [DIR] [--min-accuracy A]`
//! (DIR defaults to `../shared/data/fashion-mnist`; with `--min-accuracy` the exit status is
//! non-zero when the test accuracy falls below A, which is how CI checks it).

use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let min = args
        .iter()
        .position(|a| a == "--min-accuracy")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<f64>().ok());
    let dir =
        args.first().filter(|a| !a.starts_with("--")).cloned().unwrap_or_else(|| "../shared/data/fashion-mnist".into());
    let start = Instant::now();
    let run = match strata::lectures::fashion_mnist(&dir, 5, 0, 1) {
        Ok(run) => run,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", run.model.summary());
    let acc = run.history.get("accuracy").and_then(|v| v.last().copied()).unwrap_or(f64::NAN);
    println!("train accuracy {acc:.4} (lecture: 0.8922)");
    println!("test accuracy {:.4}, test loss {:.4} (lecture: 0.8792, 0.3378)", run.test_accuracy, run.test_loss);
    println!("total time {:.1}s", start.elapsed().as_secs_f64());
    match min {
        Some(min) if run.test_accuracy < min => {
            eprintln!("error: test accuracy {:.4} is below the required {min}", run.test_accuracy);
            ExitCode::FAILURE
        }
        _ => ExitCode::SUCCESS,
    }
}
