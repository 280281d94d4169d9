//! XOR (lectures 002 and 004): the exact network of lecture 004, then the same shape learned
//! from a random start. Run: `cargo run --release --example xor`.

use strata::data::gates::{truth_table, Gate};
use strata::prelude::*;

fn main() -> strata::Result<()> {
    let (x, y) = truth_table::<f32>(Gate::Xor)?;
    // Lecture 004's weights: W = [[1, 1], [1, 1]], c = [0, -1], w = [1, -2], b = 0.
    let h =
        x.matmul(&Tensor::from_f64(&[1., 1., 1., 1.], [2, 2])?)?.add(&Tensor::from_f64(&[0., -1.], [2])?)?.relu()?;
    let exact = h.matmul(&Tensor::from_f64(&[1., -2.], [2, 1])?)?;
    println!("lecture 004's weights: {:?} (targets {:?})", exact.to_vec(), y.to_vec());

    let net = Sequential::new([2], 3)
        .add(DenseConfig::new(2).activation(Activation::Tanh))?
        .add(DenseConfig::new(1).activation(Activation::Sigmoid))?;
    let mut model = net.compile(
        OptimizerConfig::Adam(Adam::new(0.05)),
        Loss::BinaryCrossentropy { from_logits: false },
        &[Metric::Accuracy],
    )?;
    let history = model.fit(&x, &y, &FitConfig { epochs: 600, batch_size: 4, verbose: 0, ..FitConfig::default() })?;
    let pred = model.predict(&x, 4)?;
    println!("learned from a random start (2 tanh units, 600 epochs of Adam): {:?}", pred.to_vec());
    println!(
        "final loss {:.4}, accuracy {}",
        history.get("loss").and_then(|l| l.last()).unwrap_or(&f64::NAN),
        history.get("accuracy").and_then(|a| a.last()).unwrap_or(&f64::NAN)
    );
    Ok(())
}
