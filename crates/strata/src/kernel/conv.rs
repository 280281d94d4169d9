//! The data movement of a 2-D convolution in channels-last (NHWC) layout: `im2col` copies each
//! output position's receptive field into one row of a patch matrix, so the convolution is one
//! matrix product with the kernel stored `[kh, kw, in, out]` (read as `[kh·kw·in, out]`), and
//! `col2im` adds a patch matrix's rows back into an image (the input gradient). A patch row is
//! `kh·kw` runs of `in` contiguous channels, each copied whole or, in the padding, zeroed.

use crate::tensor::Element;

/// The sizes of one convolution: input `[n, h, w, c]`, kernel `kh x kw`, output `oh x ow`,
/// strides, dilation and the zero rows / columns before the input (top, left).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvGeometry {
    pub(crate) n: usize,
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) c: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) oh: usize,
    pub(crate) ow: usize,
    pub(crate) strides: (usize, usize),
    pub(crate) dilation: (usize, usize),
    pub(crate) pad: (usize, usize),
}

impl ConvGeometry {
    /// Rows of the patch matrix: one per output position.
    pub(crate) fn rows(&self) -> usize {
        self.n * self.oh * self.ow
    }

    /// Columns of the patch matrix: one per kernel weight of one output channel.
    pub(crate) fn patch(&self) -> usize {
        self.kh * self.kw * self.c
    }

    /// Whether the patch matrix is the input itself (a 1x1 kernel, stride 1, no padding).
    pub(crate) fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.strides == (1, 1) && self.pad == (0, 0)
    }

    /// Calls `f(patch_row, patch_offset, input_offset)` for every run of `c` channels that an
    /// output position reads inside the input (runs in the padding are skipped).
    fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (sh, sw) = self.strides;
        let (dh, dw) = self.dilation;
        let (pt, pl) = self.pad;
        for b in 0..self.n {
            for oy in 0..self.oh {
                for ox in 0..self.ow {
                    let row = (b * self.oh + oy) * self.ow + ox;
                    for ky in 0..self.kh {
                        let Some(iy) = (oy * sh + ky * dh).checked_sub(pt).filter(|&iy| iy < self.h) else {
                            continue;
                        };
                        for kx in 0..self.kw {
                            let Some(ix) = (ox * sw + kx * dw).checked_sub(pl).filter(|&ix| ix < self.w) else {
                                continue;
                            };
                            f(row, (ky * self.kw + kx) * self.c, ((b * self.h + iy) * self.w + ix) * self.c);
                        }
                    }
                }
            }
        }
    }
}

/// The patch matrix `[rows, patch]` of input `x` (`[n, h, w, c]`, row-major), appended to `out`.
pub(crate) fn im2col<T: Element>(x: &[T], g: &ConvGeometry, out: &mut Vec<T>) {
    let (start, patch, c) = (out.len(), g.patch(), g.c);
    // Zeros first: the padding's runs are skipped below, so they stay zero.
    out.resize(start + g.rows() * patch, T::zero());
    let cols = &mut out[start..];
    g.for_each_run(|row, at, from| {
        cols[row * patch + at..row * patch + at + c].copy_from_slice(&x[from..from + c]);
    });
}

/// Add the patch matrix `cols` (`[rows, patch]`) back into the image `dx` (`[n, h, w, c]`):
/// each input element receives the sum over every patch that read it.
pub(crate) fn col2im<T: Element>(cols: &[T], g: &ConvGeometry, dx: &mut [T]) {
    let (patch, c) = (g.patch(), g.c);
    g.for_each_run(|row, at, to| {
        let src = &cols[row * patch + at..row * patch + at + c];
        dx[to..to + c].iter_mut().zip(src).for_each(|(d, &s)| *d = *d + s);
    });
}
