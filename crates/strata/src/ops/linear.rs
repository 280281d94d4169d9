//! The affine map of a dense layer in one op: `y = x·w + b` for `x [n, k]`, `w [k, m]`, `b [m]`;
//! `dx = g·wᵀ`, `dw = xᵀ·g`, `db = Σ_rows g`.
//!
//! One node instead of three (matmul, broadcast, add): the product is written into the output
//! once and the bias added in one pass over it, with no broadcast copy of the bias.
//! [`Tensor::linear_activation`] also applies a ReLU, sigmoid or tanh to the output in place
//! while it is still in cache, recording one node instead of two: their derivatives are
//! functions of the output (`y > 0`, `y (1 - y)`, `1 - y²`), so the pre-activation need not be
//! kept.

use crate::autograd::gradcheck::{op_check, OpCheck, R};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::kernel::matmul::{gemm_append, MatRef};
use crate::kernel::pool;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// What [`Tensor::linear_activation`] applies to the product: an activation that says whether
/// it is one of the three the op fuses, and how to apply itself otherwise. `nn::Activation`
/// implements it (ops know nothing of layers: the dependency runs from nn to ops).
pub trait AfterLinear<T: Element> {
    /// The fused form, when there is one.
    fn fused(&self) -> Option<FusedActivation>;
    /// The activation applied as ops of its own.
    ///
    /// # Errors
    /// As its ops.
    fn apply_unfused(&self, x: &Tensor<T>) -> Result<Tensor<T>>;
}

/// An activation whose derivative is a function of its output, applied inside the linear op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FusedActivation {
    /// max(x, 0).
    Relu,
    /// The logistic sigmoid.
    Sigmoid,
    /// tanh.
    Tanh,
}

impl<T: Element> Tensor<T> {
    /// The affine map's output buffer, shape and inputs, after the checks.
    #[allow(clippy::type_complexity)]
    fn affine<'a>(
        &'a self,
        weight: &'a Tensor<T>,
        bias: Option<&'a Tensor<T>>,
    ) -> Result<(Vec<T>, Shape, Vec<&'a Tensor<T>>)> {
        let (n, k) = self.shape().dims2("linear")?;
        let (k2, m) = weight.shape().dims2("linear")?;
        if k != k2 {
            return Err(Error::mismatch(
                "linear",
                self.shape(),
                weight.shape(),
                format!("inner dimensions {k} and {k2} differ"),
            ));
        }
        if let Some(b) = bias.filter(|b| b.dims() != [m]) {
            return Err(Error::mismatch("linear", weight.shape(), b.shape(), format!("the bias must be [{m}]")));
        }
        // The product is written once; the bias (and a fused activation) follow in one pass
        // over the output while it is in cache, see `Tensor::linear_activation`.
        let mut out = pool::take(n * m);
        gemm_append(MatRef::new(self.data(), n, k, false), MatRef::new(weight.data(), k, m, false), &mut out);
        let inputs: Vec<&Tensor<T>> = std::iter::once(self).chain(std::iter::once(weight)).chain(bias).collect();
        Ok((out, Shape::new([n, m]), inputs))
    }

    /// `x·weight + bias` for a batch `x [n, k]`, `weight [k, m]` and `bias [m]` (PyTorch's
    /// `linear` with Keras's kernel layout).
    ///
    /// # Errors
    /// When `x` or `weight` is not a matrix, the inner dimensions differ, or the bias is not `[m]`.
    pub fn linear(&self, weight: &Tensor<T>, bias: Option<&Tensor<T>>) -> Result<Tensor<T>> {
        let (mut out, shape, inputs) = self.affine(weight, bias)?;
        if let Some(b) = bias {
            add_bias_then(&mut out, Some(b.data()), |v| v);
        }
        Ok(Tensor::from_op(out, shape, &inputs, Linear))
    }

    /// `activation(x·weight + bias)`, a dense layer's whole forward pass: one op for ReLU,
    /// sigmoid and tanh (the activation is applied in place to the product's output), the
    /// linear op then the activation's op for the others.
    ///
    /// ```
    /// use strata::{nn::Activation, Tensor};
    /// let x = Tensor::<f32>::from_f64(&[1., -2.], [1, 2]).unwrap();
    /// let w = Tensor::<f32>::from_f64(&[1., 0., 0., 1.], [2, 2]).unwrap();
    /// assert_eq!(x.linear_activation(&w, None, Activation::Relu).unwrap().to_vec(), vec![1., 0.]);
    /// ```
    ///
    /// # Errors
    /// As [`Tensor::linear`].
    pub fn linear_activation(
        &self,
        weight: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        activation: impl AfterLinear<T>,
    ) -> Result<Tensor<T>> {
        let Some(fused) = activation.fused() else {
            return activation.apply_unfused(&self.linear(weight, bias)?);
        };
        let (mut out, shape, inputs) = self.affine(weight, bias)?;
        fused.apply(&mut out, bias.map(Tensor::data));
        Ok(Tensor::from_op(out, shape, &inputs, FusedLinear { activation: fused }))
    }
}

/// `v = f(v + bias)` over each row of `values` (`f(v)` without a bias): one pass over the
/// product's output while it is in cache.
fn add_bias_then<T: Element>(values: &mut [T], bias: Option<&[T]>, f: impl Fn(T) -> T) {
    match bias {
        Some(b) => values.chunks_exact_mut(b.len()).for_each(|row| {
            row.iter_mut().zip(b).for_each(|(v, &b)| *v = f(*v + b));
        }),
        None => values.iter_mut().for_each(|v| *v = f(*v)),
    }
}

/// The gradients of the affine map for the gradient `g` of its output.
fn affine_backward<T: Element>(x: &[Tensor<T>], g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
    let (input, weight) = (&x[0], &x[1]);
    let dx = if input.requires_grad() { Some(g.matmul_t(false, weight, true)?) } else { None };
    let dw = if weight.requires_grad() { Some(input.matmul_t(true, g, false)?) } else { None };
    let mut grads = vec![dx, dw];
    if let Some(bias) = x.get(2) {
        grads.push(if bias.requires_grad() { Some(g.sum_axis(0, false)?) } else { None });
    }
    Ok(grads)
}

struct Linear;
impl<T: Element> Backward<T> for Linear {
    fn name(&self) -> &'static str {
        "linear"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        affine_backward(x, g)
    }
}

impl FusedActivation {
    // NOTE: one loop per activation with the choice outside it, and selects rather than
    // branches on the sign, so each loop vectorizes; a branch per element mispredicts half the
    // time on a ReLU's outputs (it cost a fifth of lecture 000's step).

    /// Add the bias to each row of `values` and apply the activation, in place: the same values
    /// as the linear op followed by the elementwise op of `ops/unary.rs` (NaN stays NaN
    /// through ReLU).
    fn apply<T: Element>(self, values: &mut [T], bias: Option<&[T]>) {
        match self {
            FusedActivation::Relu => add_bias_then(values, bias, |v| if v <= T::zero() { T::zero() } else { v }),
            FusedActivation::Sigmoid => add_bias_then(values, bias, super::unary::sigmoid_of),
            FusedActivation::Tanh => add_bias_then(values, bias, T::tanh),
        }
    }

    /// `g` times the derivative at the inputs whose values are `y`.
    fn backward<T: Element>(self, g: &[T], y: &[T]) -> Vec<T> {
        let pairs = g.iter().zip(y);
        match self {
            FusedActivation::Relu => {
                pool::collect(g.len(), pairs.map(|(&g, &y)| if y > T::zero() { g } else { T::zero() }))
            }
            FusedActivation::Sigmoid => pool::collect(g.len(), pairs.map(|(&g, &y)| g * y * (T::one() - y))),
            FusedActivation::Tanh => pool::collect(g.len(), pairs.map(|(&g, &y)| g * (T::one() - y * y))),
        }
    }
}

struct FusedLinear {
    activation: FusedActivation,
}
impl<T: Element> Backward<T> for FusedLinear {
    fn name(&self) -> &'static str {
        "linear_activation"
    }
    fn backward(&self, x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        // The gradient at the affine map's output, then the affine map's rule.
        let g = Tensor::from_parts(self.activation.backward(g.data(), y.data()), g.shape().clone());
        affine_backward(x, &g)
    }
}

/// A fused activation names itself (`x.linear_activation(&w, b, FusedActivation::Relu)`).
impl<T: Element> AfterLinear<T> for FusedActivation {
    fn fused(&self) -> Option<FusedActivation> {
        Some(*self)
    }
    fn apply_unfused(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        match self {
            FusedActivation::Relu => x.relu(),
            FusedActivation::Sigmoid => x.sigmoid(),
            FusedActivation::Tanh => x.tanh(),
        }
    }
}

/// An activation without a fused form, for the check of `linear_activation`'s unfused path.
struct UnfusedElu;
impl<T: Element> AfterLinear<T> for UnfusedElu {
    fn fused(&self) -> Option<FusedActivation> {
        None
    }
    fn apply_unfused(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        x.elu(1.0)
    }
}

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![
        op_check!(Some("linear"), "linear", &[&[&[33, 5], &[5, 4], &[4]], &[&[1, 5], &[5, 4], &[4]]], R, |t| t[0]
            .linear(&t[1], Some(&t[2]))),
        op_check!(Some("linear"), "linear without bias", &[&[&[3, 5], &[5, 4]]], R, |t| t[0].linear(&t[1], None)),
        op_check!(Some("linear_activation"), "linear + relu", &[&[&[33, 5], &[5, 4], &[4]]], R, |t| t[0]
            .linear_activation(&t[1], Some(&t[2]), FusedActivation::Relu)),
        op_check!(Some("linear_activation"), "linear + sigmoid", &[&[&[7, 5], &[5, 4], &[4]]], R, |t| t[0]
            .linear_activation(&t[1], Some(&t[2]), FusedActivation::Sigmoid)),
        op_check!(Some("linear_activation"), "linear + tanh", &[&[&[7, 5], &[5, 4]]], R, |t| t[0].linear_activation(
            &t[1],
            None,
            FusedActivation::Tanh
        )),
        op_check!(None, "linear + elu (not fused)", &[&[&[7, 5], &[5, 4], &[4]]], R, |t| t[0].linear_activation(
            &t[1],
            Some(&t[2]),
            UnfusedElu
        )),
    ]
}
