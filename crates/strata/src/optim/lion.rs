//! Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"; Keras 3's form):
//! `w -= lr * sign(b1 m + (1 - b1) g)`, then `m = b2 m + (1 - b2) g`. Every coordinate moves by
//! exactly `lr` (or not at all), so Lion wants a rate 3-10 times smaller than Adam's.

use super::{check_range, UpdateRule};
use crate::error::Result;
use crate::tensor::Element;

/// Lion hyper-parameters (Keras defaults: lr 0.001, beta_1 0.9, beta_2 0.99).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Lion {
    /// Step size.
    pub learning_rate: f64,
    /// Interpolation between momentum and gradient for the update's sign, in [0, 1].
    pub beta_1: f64,
    /// Momentum decay, in [0, 1).
    pub beta_2: f64,
}

impl Default for Lion {
    fn default() -> Self {
        Lion { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.99 }
    }
}

impl super::OptimizerKind for Lion {
    fn read(f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String> {
        Ok(crate::config::read_keys!(f, Lion { learning_rate, beta_1, beta_2 }))
    }
    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)> {
        check_range("lion", "beta_1", self.beta_1, (0.0..=1.0).contains(&self.beta_1), "in [0, 1]")?;
        check_range("lion", "beta_2", self.beta_2, (0.0..1.0).contains(&self.beta_2), "in [0, 1)")?;
        Ok((Box::new(self.clone()), 0.0))
    }
}

impl<T: Element> UpdateRule<T> for Lion {
    fn slots(&self) -> usize {
        1
    }
    fn update(&self, _t: u64, lr: T, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let [m] = slots else { unreachable!("the driver allocates slots() buffers") };
        let (b1, b2) = (T::of(self.beta_1), T::of(self.beta_2));
        for i in 0..w.len() {
            let direction = b1 * m[i] + (T::one() - b1) * g[i];
            // sign(0) = 0, as Keras's ops.sign: a coordinate with no signal stays.
            let sign = if direction > T::zero() {
                T::one()
            } else if direction < T::zero() {
                -T::one()
            } else {
                T::zero()
            };
            w[i] = w[i] - lr * sign;
            m[i] = b2 * m[i] + (T::one() - b2) * g[i];
        }
    }
}
