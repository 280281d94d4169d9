//! Adadelta (Zeiler 2012, as PyTorch): `v = rho v + (1 - rho) g²`,
//! `d = sqrt(u + eps) / sqrt(v + eps) g`, `u = rho u + (1 - rho) d²`, `w -= lr d`.

use super::{check_range, UpdateRule};
use crate::error::Result;
use crate::tensor::Element;

/// Adadelta hyper-parameters (Keras defaults: lr 0.001, rho 0.95, epsilon 1e-7).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Adadelta {
    /// Step size.
    pub learning_rate: f64,
    /// Decay of both running averages.
    pub rho: f64,
    /// Inside both square roots.
    pub epsilon: f64,
}

impl Default for Adadelta {
    fn default() -> Self {
        Adadelta { learning_rate: 0.001, rho: 0.95, epsilon: 1e-7 }
    }
}

impl Adadelta {
    pub(crate) fn validated(&self) -> Result<Self> {
        check_range("adadelta", "rho", self.rho, (0.0..1.0).contains(&self.rho), "in [0, 1)")?;
        check_range("adadelta", "epsilon", self.epsilon, self.epsilon > 0.0, "> 0")?;
        Ok(self.clone())
    }
}

impl super::OptimizerKind for Adadelta {
    fn read(f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String> {
        Ok(crate::config::read_keys!(f, Adadelta { learning_rate, rho, epsilon }))
    }
    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)> {
        Ok((Box::new(self.validated()?), 0.0))
    }
}

impl<T: Element> UpdateRule<T> for Adadelta {
    fn slots(&self) -> usize {
        2
    }
    fn update(&self, _t: u64, lr: T, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let [v, u] = slots else { unreachable!("the driver allocates slots() buffers") };
        let (rho, eps) = (T::of(self.rho), T::of(self.epsilon));
        for i in 0..w.len() {
            v[i] = rho * v[i] + (T::one() - rho) * g[i] * g[i];
            let d = (u[i] + eps).sqrt() / (v[i] + eps).sqrt() * g[i];
            u[i] = rho * u[i] + (T::one() - rho) * d * d;
            w[i] = w[i] - lr * d;
        }
    }
}
