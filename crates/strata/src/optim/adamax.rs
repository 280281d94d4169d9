//! Adamax (Kingma & Ba, section 7.1; PyTorch's form): `m = b1 m + (1 - b1) g`,
//! `u = max(b2 u, |g| + eps)`, `w -= lr / (1 - b1^t) * m / u`.

use super::{check_range, UpdateRule};
use crate::error::Result;
use crate::tensor::Element;

/// Adamax hyper-parameters (Keras defaults: lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Adamax {
    /// Step size.
    pub learning_rate: f64,
    /// First-moment decay, in [0, 1).
    pub beta_1: f64,
    /// Decay of the infinity norm, in [0, 1).
    pub beta_2: f64,
    /// Added to |g| inside the maximum (> 0, so the first step never divides by zero).
    pub epsilon: f64,
}

impl Default for Adamax {
    fn default() -> Self {
        Adamax { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7 }
    }
}

impl super::OptimizerKind for Adamax {
    fn read(f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String> {
        Ok(crate::config::read_keys!(f, Adamax { learning_rate, beta_1, beta_2, epsilon }))
    }
    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)> {
        check_range("adamax", "beta_1", self.beta_1, (0.0..1.0).contains(&self.beta_1), "in [0, 1)")?;
        check_range("adamax", "beta_2", self.beta_2, (0.0..1.0).contains(&self.beta_2), "in [0, 1)")?;
        check_range("adamax", "epsilon", self.epsilon, self.epsilon > 0.0, "> 0")?;
        Ok((Box::new(self.clone()), 0.0))
    }
}

impl<T: Element> UpdateRule<T> for Adamax {
    fn slots(&self) -> usize {
        2
    }
    fn update(&self, t: u64, lr: T, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let [m, u] = slots else { unreachable!("the driver allocates slots() buffers") };
        let (b1, b2, eps) = (T::of(self.beta_1), T::of(self.beta_2), T::of(self.epsilon));
        let step = lr / (T::one() - T::of(self.beta_1.powf(t as f64)));
        for i in 0..w.len() {
            m[i] = b1 * m[i] + (T::one() - b1) * g[i];
            let norm = g[i].abs() + eps;
            u[i] = if b2 * u[i] > norm { b2 * u[i] } else { norm };
            w[i] = w[i] - step * m[i] / u[i];
        }
    }
}
