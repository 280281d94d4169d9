//! Lecture 002's logic gates: a single perceptron with the unit step, trained by Rosenblatt's
//! rule, realises NOT, AND and OR; for XOR the rule never converges.
//! Run: `cargo run --release --example gates`.

use strata::data::gates::{truth_table, Gate};

fn main() -> strata::Result<()> {
    for gate in [Gate::Not, Gate::And, Gate::Or, Gate::Xor] {
        let (x, y) = truth_table::<f64>(gate)?;
        let p = strata::lectures::train_perceptron(&x, &y, 0.1, 100)?;
        let out = p.predict(&x)?;
        println!(
            "{gate:?}: weights {:?}, bias {:.1}, outputs {:?} for targets {:?}: {}",
            p.weights.to_vec(),
            p.bias,
            out.to_vec(),
            y.to_vec(),
            if p.converged {
                format!("learned in {} epochs", p.epochs)
            } else {
                format!("not learned after {} epochs (not linearly separable)", p.epochs)
            }
        );
    }
    Ok(())
}
