//! Weight penalties added to the loss: L1, L2 and both (lectures 000 and 002).
//!
//! Keras's convention: `l1 * sum|w|` and `l2 * sum w^2`, with no division by the batch size.
//! Lecture 002 writes the L2 term as `lambda / 2m * sum w^2`; that is `l2 = lambda / (2m)` here.

use crate::error::Result;
use crate::tensor::{Element, Tensor};

/// A penalty on a parameter tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Regularizer {
    /// `l1 * sum |w|`.
    L1(f64),
    /// `l2 * sum w^2`.
    L2(f64),
    /// `l1 * sum |w| + l2 * sum w^2`.
    L1L2 {
        /// L1 factor.
        l1: f64,
        /// L2 factor.
        l2: f64,
    },
}

impl Regularizer {
    /// Checks the factors: finite and >= 0 (a negative one rewards large weights).
    ///
    /// # Errors
    /// Naming `l1` or `l2` and the value.
    pub fn validate(&self) -> Result<()> {
        let (l1, l2) = self.factors();
        crate::error::check_range("regularizer", "l1", l1, l1 >= 0.0, "finite and >= 0")?;
        crate::error::check_range("regularizer", "l2", l2, l2 >= 0.0, "finite and >= 0")
    }

    /// `(l1, l2)`, 0 for the one not used.
    fn factors(&self) -> (f64, f64) {
        match *self {
            Regularizer::L1(l1) => (l1, 0.0),
            Regularizer::L2(l2) => (0.0, l2),
            Regularizer::L1L2 { l1, l2 } => (l1, l2),
        }
    }

    /// The penalty of `w`, a scalar tensor with a gradient.
    ///
    /// # Errors
    /// Only if a tensor op fails.
    pub fn penalty<T: Element>(&self, w: &Tensor<T>) -> Result<Tensor<T>> {
        let (l1, l2) = self.factors();
        let mut total = Tensor::scalar(T::zero());
        if l1 != 0.0 {
            total = total.add(&w.abs()?.sum()?.mul_scalar(l1)?)?;
        }
        if l2 != 0.0 {
            total = total.add(&w.square()?.sum()?.mul_scalar(l2)?)?;
        }
        Ok(total)
    }
}

/// A spec's regularizer: `{ l1 = ... }`, `{ l2 = ... }` or both, each factor >= 0.
impl TryFrom<toml::Value> for Regularizer {
    type Error = String;
    fn try_from(value: toml::Value) -> std::result::Result<Self, String> {
        let toml::Value::Table(table) = value else {
            return Err("a regularizer is a table such as { l2 = 0.01 }".into());
        };
        let mut f = crate::config::Fields::of_table("regularizer", table);
        let (l1, l2) = (f.opt_f64("l1")?, f.opt_f64("l2")?);
        f.done("l1/l2")?;
        let regularizer = match (l1, l2) {
            (Some(l1), None) => Regularizer::L1(l1),
            (None, Some(l2)) => Regularizer::L2(l2),
            (Some(l1), Some(l2)) => Regularizer::L1L2 { l1, l2 },
            (None, None) => return Err("a regularizer needs l1, l2 or both".into()),
        };
        regularizer.validate().map_err(|e| e.to_string())?;
        Ok(regularizer)
    }
}

/// A regularizer as a spec writes it: `{ l1 = .. }`, `{ l2 = .. }` or both.
impl serde::Serialize for Regularizer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let factors: &[(&str, f64)] = match *self {
            Regularizer::L1(l1) => &[("l1", l1)],
            Regularizer::L2(l2) => &[("l2", l2)],
            Regularizer::L1L2 { l1, l2 } => &[("l1", l1), ("l2", l2)],
        };
        let mut map = s.serialize_map(Some(factors.len()))?;
        for (key, value) in factors {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for Regularizer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Regularizer::try_from(toml::Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
