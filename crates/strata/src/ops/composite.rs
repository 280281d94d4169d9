//! Composite ops built from the primitives: their gradients come from the primitives', so they
//! have no backward of their own (softmax, log-softmax, GELU, SiLU, ...).

use crate::autograd::gradcheck::{op_check, OpCheck, R, UNARY};
use crate::error::Result;
use crate::tensor::{Element, Tensor};

impl<T: Element> Tensor<T> {
    /// `log(sum(exp(x)))` over `axis`, stable: the maximum is subtracted first (and added back),
    /// so logits of ±1000 neither overflow nor underflow.
    ///
    /// # Errors
    /// When the axis is out of range or empty.
    pub fn logsumexp(&self, axis: isize, keepdim: bool) -> Result<Tensor<T>> {
        // The shift is a constant for the gradient (softmax is shift-invariant), hence detach.
        let shift = self.max_axis(axis, true)?.detach();
        let lse = self.sub(&shift)?.exp()?.sum_axis(axis, true)?.log()?.add(&shift)?;
        if keepdim {
            Ok(lse)
        } else {
            let ax = self.shape().axis("logsumexp", axis)?;
            let mut dims = self.dims().to_vec();
            dims.remove(ax);
            lse.reshape(dims)
        }
    }

    /// `log(softmax(x))` along `axis`: `(x - max) - log(sum(exp(x - max)))`, finite for any
    /// finite input.
    ///
    /// NOTE: `x - (max + log Σ)` is the same formula but rounds `max + log Σ` first: on a
    /// confident row (logits 1000 and 984) the small `log Σ` loses about 7 digits to the large
    /// `max`. Subtracting the shift first keeps them.
    ///
    /// # Errors
    /// When the axis is out of range or empty.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor<T>> {
        // The shift is a constant for the gradient (softmax is shift-invariant), hence detach.
        let shifted = self.sub(&self.max_axis(axis, true)?.detach())?;
        shifted.sub(&shifted.exp()?.sum_axis(axis, true)?.log()?)
    }

    /// SiLU (swish): `x * sigmoid(x)`.
    ///
    /// # Errors
    /// Never for valid tensors; `Result` for uniformity.
    pub fn silu(&self) -> Result<Tensor<T>> {
        self.mul(&self.sigmoid()?)
    }

    /// SELU: `scale * elu(x, alpha)` with Klambauer et al.'s self-normalizing constants
    /// (alpha = 1.6732632423543772, scale = 1.0507009873554805), as Keras and PyTorch define it.
    ///
    /// # Errors
    /// Never for valid tensors.
    pub fn selu(&self) -> Result<Tensor<T>> {
        const ALPHA: f64 = 1.673_263_242_354_377_2;
        const SCALE: f64 = 1.050_700_987_355_480_5;
        self.elu(ALPHA)?.mul_scalar(SCALE)
    }

    /// Mish: `x * tanh(softplus(x))` (softplus computed stably, so large |x| stays finite).
    ///
    /// # Errors
    /// Never for valid tensors.
    pub fn mish(&self) -> Result<Tensor<T>> {
        self.mul(&self.softplus()?.tanh()?)
    }

    /// GELU, exact form: `x * Φ(x) = 0.5 x (1 + erf(x / sqrt(2)))` (PyTorch's default).
    ///
    /// # Errors
    /// Never for valid tensors.
    pub fn gelu(&self) -> Result<Tensor<T>> {
        let cdf = self.mul_scalar(std::f64::consts::FRAC_1_SQRT_2)?.erf()?.add_scalar(1.0)?.mul_scalar(0.5)?;
        self.mul(&cdf)
    }

    /// GELU, tanh approximation: `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`
    /// (PyTorch's `approximate="tanh"`, Keras's `approximate=True`).
    ///
    /// # Errors
    /// Never for valid tensors.
    pub fn gelu_tanh(&self) -> Result<Tensor<T>> {
        let inner = self
            .add(&self.square()?.mul(self)?.mul_scalar(0.044715)?)?
            .mul_scalar((2.0 / std::f64::consts::PI).sqrt())?;
        self.mul(&inner.tanh()?.add_scalar(1.0)?.mul_scalar(0.5)?)
    }

    /// Elementwise choice: `a` where `mask` is 1, `b` where it is 0 (masks from [`Tensor::gt`]...).
    ///
    /// # Errors
    /// When the shapes do not broadcast.
    pub fn where_mask(mask: &Tensor<T>, a: &Tensor<T>, b: &Tensor<T>) -> Result<Tensor<T>> {
        mask.mul(a)?.add(&mask.neg()?.add_scalar(1.0)?.mul(b)?)
    }
}

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![
        op_check!(None, "log_softmax", &[&[&[5]], &[&[1, 5]], &[&[33, 5]]], R, |t| t[0].log_softmax(-1)),
        op_check!(None, "logsumexp", &[&[&[1, 5]], &[&[33, 5]]], R, |t| t[0].logsumexp(-1, false)),
        op_check!(None, "silu", UNARY, R, |t| t[0].silu()),
        op_check!(None, "selu", UNARY, R, |t| t[0].selu()),
        op_check!(None, "mish", UNARY, R, |t| t[0].mish()),
        op_check!(None, "gelu", UNARY, R, |t| t[0].gelu()),
        op_check!(None, "gelu_tanh", UNARY, R, |t| t[0].gelu_tanh()),
    ]
}
