//! The `strata` command line. For now it runs the main job: lecture 000's Iris regression on the
//! embedded data (the full command line with spec files is tracked separately).

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version" | "-V") => {
            println!("strata {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("--help" | "-h") => {
            println!("strata {}\n\nUsage: strata [iris]\n\n  iris   train lecture 000's Iris regression on the embedded data (the default)", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        None | Some("iris") => match iris() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Some(other) => {
            eprintln!("error: unknown command {other:?} (try --help)");
            ExitCode::from(2)
        }
    }
}

fn iris() -> strata::Result<()> {
    use strata::nn::Network;
    let network = strata::lectures::iris_network(strata::lectures::IRIS_SEED)?;
    println!("{}", network.summary());
    let run = strata::lectures::iris_regression(strata::lectures::IRIS_SEED, 2)?;
    println!(
        "test MSE: {:.4} (lecture 000 reports 0.1016; Keras 3 gives a median of 0.21 over 3 seeds)",
        run.test_mse
    );
    Ok(())
}
