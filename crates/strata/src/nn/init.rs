//! Seeded weight initializers, with Keras's names and formulas.
//!
//! For a kernel stored `[inputs, units]`, `fan_in = inputs` and `fan_out = units`. Keras's
//! "normal" variance-scaling initializers draw from a normal truncated at two standard
//! deviations, with the deviation divided by 0.87962566 so the truncated variance is the target.

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};
use rand_distr::{Distribution, Normal, Uniform};

/// How a parameter starts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    /// U(-l, l) with `l = sqrt(6 / (fan_in + fan_out))`: Dense's default kernel.
    GlorotUniform,
    /// Truncated N(0, 2 / (fan_in + fan_out)).
    GlorotNormal,
    /// Truncated N(0, 2 / fan_in), for ReLU networks.
    HeNormal,
    /// U(-l, l) with `l = sqrt(6 / fan_in)`.
    HeUniform,
    /// Truncated N(0, 1 / fan_in).
    LecunNormal,
    /// N(mean, std^2), the lectures' random start.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation.
        std: f64,
    },
    /// U(low, high).
    Uniform {
        /// Lower bound.
        low: f64,
        /// Upper bound.
        high: f64,
    },
    /// All zeros: Dense's default bias.
    Zeros,
    /// All ones.
    Ones,
    /// All one value.
    Constant(f64),
    /// A random orthogonal matrix times `gain` (Saxe et al. 2014; Keras's recurrent kernels'
    /// default): the kernel flattened to `[rows, last axis]`, from the QR decomposition of a
    /// standard normal matrix with R's diagonal signs folded into Q, as Keras draws it.
    Orthogonal {
        /// Scale of the matrix (default 1).
        gain: f64,
    },
}

/// Keras's correction so a normal truncated at 2 std has the intended variance.
const TRUNCATED_STD_CORRECTION: f64 = 0.879_625_661_034_239_8;

// The one table of initializers: each variant, its spec names (Keras's first, then aliases)
// and how a spec table gives its parameters (see `config::kind_table!`).
crate::config::kind_table! { Initializer, "initializer";
    Initializer::GlorotUniform = "glorot_uniform" => |_f| Initializer::GlorotUniform;
    Initializer::GlorotNormal = "glorot_normal" => |_f| Initializer::GlorotNormal;
    Initializer::HeNormal = "he_normal" => |_f| Initializer::HeNormal;
    Initializer::HeUniform = "he_uniform" => |_f| Initializer::HeUniform;
    Initializer::LecunNormal = "lecun_normal" => |_f| Initializer::LecunNormal;
    Initializer::Normal { .. } = "normal" | "random_normal" => |f| Initializer::Normal {
        mean: f.f64("mean", 0.0)?,
        std: f.f64_where("std", 0.05, |v| v >= 0.0, ">= 0")?,
    };
    Initializer::Uniform { .. } = "uniform" | "random_uniform" => |f| Initializer::Uniform {
        low: f.f64("low", -0.05)?,
        high: f.f64("high", 0.05)?,
    };
    Initializer::Zeros = "zeros" => |_f| Initializer::Zeros;
    Initializer::Ones = "ones" => |_f| Initializer::Ones;
    Initializer::Constant(_) = "constant" => |f| Initializer::Constant(f.f64("value", 0.0)?);
    Initializer::Orthogonal { .. } = "orthogonal" => |f| Initializer::Orthogonal { gain: f.f64("gain", 1.0)? };
}

impl Initializer {
    /// A tensor of `shape` drawn from this initializer.
    ///
    /// # Errors
    /// When a parameter is invalid (negative std, low >= high, a constant not finite in `T`).
    pub fn init<T: Element>(&self, shape: &Shape, rng: &mut Rng) -> Result<Tensor<T>> {
        let (fan_in, fan_out) = fans(shape);
        let (fan_in, fan_out) = (fan_in as f64, fan_out as f64);
        match *self {
            Initializer::GlorotUniform => uniform(shape, (6.0 / (fan_in + fan_out)).sqrt(), rng),
            Initializer::HeUniform => uniform(shape, (6.0 / fan_in).sqrt(), rng),
            Initializer::GlorotNormal => truncated(shape, (2.0 / (fan_in + fan_out)).sqrt(), rng),
            Initializer::HeNormal => truncated(shape, (2.0 / fan_in).sqrt(), rng),
            Initializer::LecunNormal => truncated(shape, (1.0 / fan_in).sqrt(), rng),
            Initializer::Normal { mean, std } => Tensor::randn(shape.clone(), mean, std, rng),
            Initializer::Uniform { low, high } => Tensor::rand_uniform(shape.clone(), low, high, rng),
            Initializer::Zeros => Ok(Tensor::zeros(shape.clone())),
            Initializer::Ones => Ok(Tensor::ones(shape.clone())),
            Initializer::Orthogonal { gain } => orthogonal(shape, gain, rng),
            Initializer::Constant(v) if T::of(v).is_finite() => Ok(Tensor::full(shape.clone(), T::of(v))),
            Initializer::Constant(v) => Err(crate::Error::invalid(
                "constant initializer",
                format!("value must be finite in {}, got {v}", std::any::type_name::<T>()),
            )),
        }
    }
}

/// (fan_in, fan_out): for `[.., inputs, units]` the receptive field times the last two axes.
fn fans(shape: &Shape) -> (usize, usize) {
    match shape.dims() {
        [] => (1, 1),
        [n] => (*n, *n),
        dims => {
            let receptive: usize = dims[..dims.len() - 2].iter().product();
            (dims[dims.len() - 2] * receptive, dims[dims.len() - 1] * receptive)
        }
    }
}

fn uniform<T: Element>(shape: &Shape, limit: f64, rng: &mut Rng) -> Result<Tensor<T>> {
    if !(limit.is_finite() && limit > 0.0) {
        return Err(Error::shape("initializer", shape, "fan sizes must be positive"));
    }
    let dist = Uniform::new(-limit, limit);
    Tensor::from_vec((0..shape.numel()).map(|_| T::of(dist.sample(rng))).collect(), shape.clone())
}

fn orthogonal<T: Element>(shape: &Shape, gain: f64, rng: &mut Rng) -> Result<Tensor<T>> {
    let cols = shape.dims().last().copied().unwrap_or(1);
    let rows = shape.numel().checked_div(cols).unwrap_or(0);
    if rows == 0 || !gain.is_finite() {
        return Err(Error::shape(
            "orthogonal initializer",
            shape,
            format!("needs a non-empty shape and a finite gain, got {gain}"),
        ));
    }
    // Q of a tall [n, m] normal matrix (n >= m): m orthonormal columns of length n, by modified
    // Gram-Schmidt in f64 (the Householder QR Keras calls gives the same Q up to column signs,
    // which the sign correction then fixes the same way).
    let (n, m) = (rows.max(cols), rows.min(cols));
    let normal = Normal::new(0.0, 1.0).map_err(|e| Error::invalid("orthogonal initializer", e.to_string()))?;
    let mut q: Vec<Vec<f64>> = (0..m).map(|_| (0..n).map(|_| normal.sample(rng)).collect()).collect();
    for j in 0..m {
        for k in 0..j {
            let dot: f64 = q[j].iter().zip(&q[k]).map(|(a, b)| a * b).sum();
            let (done, rest) = q.split_at_mut(j);
            rest[0].iter_mut().zip(&done[k]).for_each(|(a, b)| *a -= dot * b);
        }
        let norm = q[j].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm < 1e-12 {
            return Err(Error::invalid("orthogonal initializer", "drew a degenerate matrix; try another seed"));
        }
        // R's diagonal is the norm, positive: Keras's sign correction leaves Q as it is.
        q[j].iter_mut().for_each(|v| *v /= norm);
    }
    // Q is [n, m] (column j = q[j]); the kernel is Q itself when rows >= cols, else Qᵀ.
    let values = (0..rows * cols).map(|idx| {
        let (r, c) = (idx / cols, idx % cols);
        let v = if rows >= cols { q[c][r] } else { q[r][c] };
        T::of(gain * v)
    });
    Tensor::from_vec(values.collect(), shape.clone())
}

fn truncated<T: Element>(shape: &Shape, std: f64, rng: &mut Rng) -> Result<Tensor<T>> {
    if !(std.is_finite() && std > 0.0) {
        return Err(Error::shape("initializer", shape, "fan sizes must be positive"));
    }
    let std = std / TRUNCATED_STD_CORRECTION;
    let normal = Normal::new(0.0, std).map_err(|e| Error::invalid("initializer", e.to_string()))?;
    let sample = |rng: &mut Rng| loop {
        let v: f64 = normal.sample(rng);
        if v.abs() <= 2.0 * std {
            return v;
        }
    };
    Tensor::from_vec((0..shape.numel()).map(|_| T::of(sample(rng))).collect(), shape.clone())
}

/// A spec's initializer: a name (`"he_normal"`) or a table with `type` and its parameters
/// (`{ type = "normal", mean = 0.0, std = 0.05 }`).
impl TryFrom<toml::Value> for Initializer {
    type Error = String;
    fn try_from(value: toml::Value) -> std::result::Result<Self, String> {
        let (kind, mut f) = crate::config::Fields::new("initializer", value)?;
        let init = Initializer::read(&kind, &mut f)?;
        f.done(&kind)?;
        Ok(init)
    }
}

/// An initializer as a spec writes it: its name, or a table with `type` and its parameters.
impl serde::Serialize for Initializer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let params: &[(&str, f64)] = match *self {
            Initializer::Normal { mean, std } => &[("mean", mean), ("std", std)],
            Initializer::Uniform { low, high } => &[("low", low), ("high", high)],
            Initializer::Constant(value) => &[("value", value)],
            Initializer::Orthogonal { gain } => &[("gain", gain)],
            _ => return s.serialize_str(self.name()),
        };
        let mut map = s.serialize_map(Some(params.len() + 1))?;
        map.serialize_entry("type", self.name())?;
        for (key, value) in params {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl<'de> serde::Deserialize<'de> for Initializer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Initializer::try_from(toml::Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
