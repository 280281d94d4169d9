//! Adagrad (as PyTorch): `s += g²`, `w -= lr g / (sqrt(s) + eps)`, with `s` starting at Keras's
//! `initial_accumulator_value`.

use super::{check_range, UpdateRule};
use crate::error::Result;
use crate::tensor::Element;

/// Adagrad hyper-parameters (Keras defaults: lr 0.001, initial accumulator 0.1, epsilon 1e-7).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Adagrad {
    /// Step size.
    pub learning_rate: f64,
    /// Starting value of the squared-gradient sum.
    pub initial_accumulator_value: f64,
    /// Added to the denominator.
    pub epsilon: f64,
}

impl Default for Adagrad {
    fn default() -> Self {
        Adagrad { learning_rate: 0.001, initial_accumulator_value: 0.1, epsilon: 1e-7 }
    }
}

impl Adagrad {
    pub(crate) fn validated(&self) -> Result<Self> {
        let v = self.initial_accumulator_value;
        check_range("adagrad", "initial_accumulator_value", v, v >= 0.0, ">= 0")?;
        Ok(self.clone())
    }
}

impl super::OptimizerKind for Adagrad {
    fn read(f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String> {
        Ok(crate::config::read_keys!(f, Adagrad { learning_rate, initial_accumulator_value, epsilon }))
    }
    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)> {
        Ok((Box::new(self.validated()?), 0.0))
    }
}

impl<T: Element> UpdateRule<T> for Adagrad {
    fn slots(&self) -> usize {
        1
    }
    fn update(&self, t: u64, lr: T, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let [sum] = slots else { unreachable!("the driver allocates slots() buffers") };
        if t == 1 {
            sum.iter_mut().for_each(|s| *s = T::of(self.initial_accumulator_value));
        }
        let eps = T::of(self.epsilon);
        for i in 0..w.len() {
            sum[i] = sum[i] + g[i] * g[i];
            w[i] = w[i] - lr * g[i] / (sum[i].sqrt() + eps);
        }
    }
}
