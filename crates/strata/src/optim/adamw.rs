//! AdamW (Loshchilov & Hutter): Adam with decoupled weight decay, `w -= lr * weight_decay * w`
//! each step before the Adam update (the driver applies the decay; the rule is Adam's).

use super::{check_range, Adam, UpdateRule};
use crate::error::Result;
use crate::tensor::Element;

/// AdamW hyper-parameters: Adam's, and the decay (Keras's default 0.004).
#[derive(Clone, PartialEq, serde::Serialize)]
pub struct AdamW {
    /// The Adam part (its keys sit beside `weight_decay` in a spec).
    #[serde(flatten)]
    pub adam: Adam,
    /// Decay factor (Keras's default 0.004).
    pub weight_decay: f64,
}

impl Default for AdamW {
    fn default() -> Self {
        AdamW { adam: Adam::default(), weight_decay: 0.004 }
    }
}

/// Written as the enum variant it was (`AdamW { adam: .., weight_decay: .. }`): checkpoints
/// compare optimizer settings by this text.
impl std::fmt::Debug for AdamW {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdamW").field("adam", &self.adam).field("weight_decay", &self.weight_decay).finish()
    }
}

impl super::OptimizerKind for AdamW {
    fn read(f: &mut crate::config::Fields<'_>) -> std::result::Result<Self, String> {
        let adam = <Adam as super::OptimizerKind>::read(f)?;
        Ok(AdamW { adam, weight_decay: f.f64("weight_decay", AdamW::default().weight_decay)? })
    }
    fn learning_rate(&self) -> f64 {
        self.adam.learning_rate
    }
    fn rule<T: Element>(&self) -> Result<(Box<dyn UpdateRule<T>>, f64)> {
        check_range("adamw", "weight_decay", self.weight_decay, self.weight_decay >= 0.0, ">= 0")?;
        Ok((Box::new(self.adam.validated()?), self.weight_decay))
    }
}
