//! RMSProp (as PyTorch): `v = rho v + (1 - rho) g²`; centered: `a = rho a + (1 - rho) g`,
//! denominator `sqrt(v - a²) + eps`, else `sqrt(v) + eps`; with momentum `b = momentum b + g / d`,
//! `w -= lr b`, else `w -= lr g / d`.

use super::{check_range, UpdateRule};
use crate::error::Result;
use crate::tensor::Element;

/// RMSProp hyper-parameters (Keras defaults: lr 0.001, rho 0.9, momentum 0, epsilon 1e-7).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RmsProp {
    /// Step size.
    pub learning_rate: f64,
    /// Decay of the squared-gradient average.
    pub rho: f64,
    /// Momentum factor.
    pub momentum: f64,
    /// Added to the denominator.
    pub epsilon: f64,
    /// Normalise by the variance instead of the second moment.
    pub centered: bool,
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp { learning_rate: 0.001, rho: 0.9, momentum: 0.0, epsilon: 1e-7, centered: false }
    }
}

impl RmsProp {
    pub(crate) fn validated(&self) -> Result<Self> {
        check_range("rmsprop", "rho", self.rho, (0.0..1.0).contains(&self.rho), "in [0, 1)")?;
        check_range("rmsprop", "momentum", self.momentum, (0.0..1.0).contains(&self.momentum), "in [0, 1)")?;
        Ok(self.clone())
    }
}

impl super::OptimizerKind for RmsProp {
    fn read(f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String> {
        Ok(crate::config::read_keys!(f, RmsProp { learning_rate, rho, momentum, epsilon, centered }))
    }
    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }
    fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)> {
        Ok((Box::new(self.validated()?), 0.0))
    }
}

impl<T: Element> UpdateRule<T> for RmsProp {
    fn slots(&self) -> usize {
        3
    }
    fn update(&self, _t: u64, lr: T, w: &mut [T], g: &[T], slots: &mut [&mut [T]]) {
        let [v, avg, buf] = slots else { unreachable!("the driver allocates slots() buffers") };
        let (rho, eps, mom) = (T::of(self.rho), T::of(self.epsilon), T::of(self.momentum));
        for i in 0..w.len() {
            v[i] = rho * v[i] + (T::one() - rho) * g[i] * g[i];
            let mut second = v[i];
            if self.centered {
                avg[i] = rho * avg[i] + (T::one() - rho) * g[i];
                second = second - avg[i] * avg[i];
            }
            let step = g[i] / (second.sqrt() + eps);
            if self.momentum > 0.0 {
                buf[i] = mom * buf[i] + step;
                w[i] = w[i] - lr * buf[i];
            } else {
                w[i] = w[i] - lr * step;
            }
        }
    }
}
