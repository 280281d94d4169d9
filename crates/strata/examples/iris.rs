//! Lecture 000's Iris regression: petal measurements from sepal measurements with a
//! 2-32-64-32-2 ReLU network, SGD, MSE, batch 32, 100 epochs.
//! Run: `cargo run --release --example iris` (add `-- --seeds 10` for the spread over seeds 0..10).

fn main() -> strata::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(n) =
        args.iter().position(|a| a == "--seeds").and_then(|i| args.get(i + 1)).and_then(|s| s.parse::<u64>().ok())
    {
        let mut mses = Vec::new();
        for seed in 0..n {
            let run = strata::lectures::iris_regression(seed, 0)?;
            println!("seed {seed}: test MSE {:.4}", run.test_mse);
            mses.push(run.test_mse);
        }
        mses.sort_by(f64::total_cmp);
        println!("median {:.4}, min {:.4}, max {:.4}", mses[mses.len() / 2], mses[0], mses[mses.len() - 1]);
        return Ok(());
    }
    let run = strata::lectures::iris_regression(strata::lectures::IRIS_SEED, 2)?;
    println!("{}", run.model.summary());
    println!("test MSE: {:.4} (lecture: 0.1016; Keras 3 / PyTorch median over 3 seeds: 0.21 / 0.20)", run.test_mse);
    Ok(())
}
