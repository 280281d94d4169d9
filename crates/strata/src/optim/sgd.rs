//! SGD with optional momentum and Nesterov momentum (Keras's form, PyTorch's for constant lr):
//! `v = momentum v - lr g`; `w += v`, or with Nesterov `w += momentum v - lr g`.

use super::{check_range, UpdateRule};
use crate::error::Result;
use crate::tensor::Element;

/// SGD hyper-parameters (Keras defaults: lr 0.01, momentum 0, no Nesterov).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Sgd {
    /// Step size.
    pub learning_rate: f64,
    /// Momentum factor in [0, 1).
    pub momentum: f64,
    /// Nesterov's look-ahead momentum.
    pub nesterov: bool,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd { learning_rate: 0.01, momentum: 0.0, nesterov: false }
    }
}

impl Sgd {
    /// Plain SGD at `learning_rate`.
    pub fn new(learning_rate: f64) -> Self {
        Sgd { learning_rate, ..Sgd::default() }
    }

    pub(crate) fn validated(&self) -> Result<Self> {
        check_range("sgd", "momentum", self.momentum, (0.0..1.0).contains(&self.momentum), "in [0, 1)")?;
        Ok(self.clone())
    }
}

impl super::OptimizerKind for Sgd {
    fn read(f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String> {
        Ok(crate::config::read_keys!(f, Sgd { learning_rate, momentum, nesterov }))
    }
    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)> {
        Ok((Box::new(self.validated()?), 0.0))
    }
}

impl<T: Element> UpdateRule<T> for Sgd {
    fn slots(&self) -> usize {
        usize::from(self.momentum > 0.0)
    }
    fn update(&self, _t: u64, lr: T, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let [velocity] = slots else {
            w.iter_mut().zip(g).for_each(|(w, &g)| *w = *w - lr * g);
            return;
        };
        let m = T::of(self.momentum);
        for i in 0..w.len() {
            velocity[i] = m * velocity[i] - lr * g[i];
            w[i] = w[i] + if self.nesterov { m * velocity[i] - lr * g[i] } else { velocity[i] };
        }
    }
}
