//! 2-D convolution in channels-last layout, as Keras computes it: input `[n, h, w, in]`, kernel
//! `[kh, kw, in, out]`, optional bias `[out]`, output `[n, oh, ow, out]` (a cross-correlation, as
//! every framework's "convolution" is).
//!
//! Forward: the patch matrix `P` (`[n·oh·ow, kh·kw·in]`) times the kernel read as
//! `[kh·kw·in, out]`, plus the bias. Backward: `dK = Pᵀ·g`, `dx = col2im(g·Kᵀ)`, `db = Σ_rows g`.
//! The loops (tiled im2col, a direct path for few channels, 1x1 as the plain product, both
//! cores) are `kernel/conv.rs`'s; nothing but the geometry is kept for backward.

use crate::autograd::gradcheck::{op_check, OpCheck, R};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::kernel::conv::{conv_forward, conv_input_grad, conv_kernel_grad, ConvGeometry};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// How a 2-D convolution walks its input: strides, dilation and padding (Keras's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// Steps between output positions, (rows, columns).
    pub strides: (usize, usize),
    /// Spacing between the kernel's taps, (rows, columns); 1 is a dense kernel.
    pub dilation: (usize, usize),
    /// `"same"` padding (zeros around the input so the output is `ceil(input / stride)` long,
    /// the extra zero after when the total is odd, as Keras pads) instead of `"valid"` (none).
    pub same_padding: bool,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions { strides: (1, 1), dilation: (1, 1), same_padding: false }
    }
}

/// Output length and zeros before the input along one axis, or `None` when a valid
/// convolution's kernel span is longer than the input.
pub(crate) fn conv_output_len(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    same: bool,
) -> Option<(usize, usize)> {
    let span = dilation * (kernel - 1) + 1;
    if same {
        let out = input.div_ceil(stride);
        let total = ((out.max(1) - 1) * stride + span).saturating_sub(input);
        Some((out, total / 2))
    } else {
        input.checked_sub(span).map(|room| (room / stride + 1, 0))
    }
}

impl<T: Element> Tensor<T> {
    /// The 2-D convolution of this `[n, h, w, in]` batch with `kernel` `[kh, kw, in, out]`
    /// (and `bias` `[out]`): a `[n, oh, ow, out]` tensor.
    ///
    /// ```
    /// use strata::{Conv2dOptions, Tensor};
    /// // A 3x3 image of 1..9 and a 2x2 kernel of ones: each output sums a 2x2 window.
    /// let x = Tensor::<f64>::from_f64(&[1., 2., 3., 4., 5., 6., 7., 8., 9.], [1, 3, 3, 1]).unwrap();
    /// let k = Tensor::<f64>::ones([2, 2, 1, 1]);
    /// let y = x.conv2d(&k, None, Conv2dOptions::default()).unwrap();
    /// assert_eq!(y.dims(), &[1, 2, 2, 1]);
    /// assert_eq!(y.to_f64_vec(), vec![12., 16., 24., 28.]);
    /// ```
    ///
    /// # Errors
    /// When the ranks are not 4, the channels or the bias do not match the kernel, a stride or
    /// dilation is 0, or a valid convolution's kernel does not fit in the input.
    pub fn conv2d(&self, kernel: &Tensor<T>, bias: Option<&Tensor<T>>, options: Conv2dOptions) -> Result<Tensor<T>> {
        let g = conv_geometry(self.shape(), kernel.shape(), bias.map(Tensor::shape), options)?;
        let out_channels = kernel.dims()[3];
        let out = conv_forward(self.data(), kernel.data(), bias.map(Tensor::data), &g);
        let shape = Shape::new([g.n, g.oh, g.ow, out_channels]);
        let inputs: Vec<&Tensor<T>> = std::iter::once(self).chain(std::iter::once(kernel)).chain(bias).collect();
        Ok(Tensor::from_op(out, shape, &inputs, Conv2d { geometry: g }))
    }
}

/// The geometry of `x * kernel`, or an error naming both shapes and what does not fit.
fn conv_geometry(x: &Shape, kernel: &Shape, bias: Option<&Shape>, o: Conv2dOptions) -> Result<ConvGeometry> {
    let (&[n, h, w, c], &[kh, kw, kc, out]) = (x.dims(), kernel.dims()) else {
        return Err(Error::mismatch(
            "conv2d",
            x,
            kernel,
            "expects an input [n, h, w, in] and a kernel [kh, kw, in, out]",
        ));
    };
    if kc != c || kh == 0 || kw == 0 {
        return Err(Error::mismatch(
            "conv2d",
            x,
            kernel,
            format!("the input has {c} channels, the kernel expects {kc}"),
        ));
    }
    if let Some(b) = bias.filter(|b| b.dims() != [out]) {
        return Err(Error::mismatch("conv2d", kernel, b, format!("the bias must be [{out}]")));
    }
    if o.strides.0 == 0 || o.strides.1 == 0 || o.dilation.0 == 0 || o.dilation.1 == 0 {
        return Err(Error::invalid(
            "conv2d",
            format!("strides {:?} and dilation {:?} must be >= 1", o.strides, o.dilation),
        ));
    }
    let fit = |input, k, s, d, axis: &str| {
        conv_output_len(input, k, s, d, o.same_padding).filter(|&(len, _)| len > 0).ok_or_else(|| {
            Error::mismatch(
                "conv2d",
                x,
                kernel,
                format!(
                    "the kernel spans {} {axis} (dilation {d}), more than the input's {input} with valid padding",
                    d * (k - 1) + 1
                ),
            )
        })
    };
    let (oh, pt) = fit(h, kh, o.strides.0, o.dilation.0, "rows")?;
    let (ow, pl) = fit(w, kw, o.strides.1, o.dilation.1, "columns")?;
    Ok(ConvGeometry { n, h, w, c, kh, kw, oh, ow, strides: o.strides, dilation: o.dilation, pad: (pt, pl) })
}

/// The node of a convolution: its geometry.
struct Conv2d {
    geometry: ConvGeometry,
}

impl<T: Element> Backward<T> for Conv2d {
    fn name(&self) -> &'static str {
        "conv2d"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let (input, kernel) = (&x[0], &x[1]);
        let (geo, out_channels) = (&self.geometry, kernel.dims()[3]);
        let dx = input
            .requires_grad()
            .then(|| Tensor::from_parts(conv_input_grad(g.data(), kernel.data(), geo), input.shape().clone()));
        let dk = kernel.requires_grad().then(|| {
            Tensor::from_parts(conv_kernel_grad(input.data(), g.data(), geo, out_channels), kernel.shape().clone())
        });
        let db = x.get(2).filter(|b| b.requires_grad()).map(|b| {
            let mut db = vec![T::zero(); out_channels];
            for row in g.data().chunks_exact(out_channels) {
                db.iter_mut().zip(row).for_each(|(d, &v)| *d = *d + v);
            }
            Tensor::from_parts(db, b.shape().clone())
        });
        let mut grads = vec![dx, dk];
        if x.len() > 2 {
            grads.push(db);
        }
        Ok(grads)
    }
}

/// Options of the checked convolutions.
const SAME_STRIDED: Conv2dOptions = Conv2dOptions { strides: (2, 1), dilation: (1, 1), same_padding: true };
const SAME_DILATED: Conv2dOptions = Conv2dOptions { strides: (1, 2), dilation: (2, 1), same_padding: true };
const DILATED: Conv2dOptions = Conv2dOptions { strides: (1, 2), dilation: (2, 1), same_padding: false };

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![
        op_check!(
            Some("conv2d"),
            "conv2d valid 3x3",
            &[&[&[2, 5, 4, 3], &[3, 3, 3, 2], &[2]], &[&[1, 3, 3, 1], &[3, 3, 1, 1], &[1]]],
            R,
            |t| t[0].conv2d(&t[1], Some(&t[2]), Conv2dOptions::default())
        ),
        op_check!(Some("conv2d"), "conv2d same, strides (2, 1)", &[&[&[2, 5, 4, 2], &[3, 2, 2, 3]]], R, |t| t[0]
            .conv2d(&t[1], None, SAME_STRIDED)),
        op_check!(Some("conv2d"), "conv2d dilated", &[&[&[1, 6, 5, 2], &[2, 2, 2, 3], &[3]]], R, |t| t[0].conv2d(
            &t[1],
            Some(&t[2]),
            DILATED
        )),
        op_check!(
            Some("conv2d"),
            "conv2d 6 channels (tiled im2col), same",
            &[&[&[2, 4, 5, 6], &[2, 3, 6, 2], &[2]]],
            R,
            |t| t[0].conv2d(&t[1], Some(&t[2]), SAME_DILATED)
        ),
        op_check!(Some("conv2d"), "conv2d 1x1", &[&[&[2, 3, 3, 4], &[1, 1, 4, 2], &[2]]], R, |t| t[0].conv2d(
            &t[1],
            Some(&t[2]),
            Conv2dOptions::default()
        )),
    ]
}
