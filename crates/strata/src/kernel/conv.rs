//! 2-D convolution in channels-last (NHWC) layout, forward and both gradients, on both cores.
//!
//! The kernel is stored `[kh, kw, in, out]`, read as the matrix `[kh·kw·in, out]`, and each
//! output position's receptive field (`kh·kw` runs of `in` contiguous channels, the padding's
//! runs zero) as one row of a patch matrix `P`. Then `y = P·K`, `dK = Pᵀ·g`, `dP = g·Kᵀ` and
//! the input gradient adds `dP`'s rows back where they were read (col2im). Three paths:
//! - **pointwise** (1x1, stride 1, no padding): `P` is the input itself, one product;
//! - **tiled** im2col: `P` is built a tile of rows at a time into a buffer that stays in the
//!   core's L2 cache, and each tile goes straight through the matrix kernel, so the whole patch
//!   matrix (9x the input for a 3x3 kernel) never exists, and the kernel gradient rebuilds its
//!   tiles instead of keeping one from the forward pass;
//! - **direct**, for inputs of few channels (a grayscale or RGB image), where a patch row is
//!   too short for a matrix kernel: each tap's channel scales a row of the kernel into the
//!   output row (the output channels are the vectorized axis).
//!
//! The work is cut in two for the two cores: output rows for the forward pass and the kernel
//! gradient (each core sums its own part of `dK`, then the two are added), whole samples for
//! the input gradient (so the two cores never add into the same input element).

use super::matmul::{gemm_single, MatRef};
use super::threads::{split_in_two, Halves};
use super::{pool, vectorized};
use crate::tensor::Element;
use std::ops::Range;

/// Inputs of at most this many channels take the direct path: a patch row of `kh·kw·c` (9 for
/// a 3x3 kernel on a grayscale image) is too short an inner dimension for the matrix kernel
/// (the first conv of the CNN example ran at 8 GFLOP/s through im2col).
const DIRECT_MAX_CHANNELS: usize = 4;

/// Elements of one tile of the patch matrix: 128 KiB of f32, so the tile, the kernel and the
/// tile's output stay in a core's L2 cache between im2col and the product.
const TILE_ELEMENTS: usize = 1 << 15;

/// From this many multiply-adds up, a convolution's work is cut in two for the two cores.
const SPLIT_MIN_MACS: usize = 1 << 18;

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

    fn direct(&self) -> bool {
        self.c <= DIRECT_MAX_CHANNELS && !self.is_pointwise()
    }

    /// Rows of the patch matrix per tile (at least 8).
    fn tile_rows(&self) -> usize {
        (TILE_ELEMENTS / self.patch().max(1)).max(8)
    }

    fn split(&self, out_channels: usize) -> bool {
        self.rows() * self.patch() * out_channels >= SPLIT_MIN_MACS
    }

    /// Calls `f(row, patch_offset, input_offset, len)` for every run of contiguous elements
    /// that the output positions `rows` read inside the input, in order (the padding is
    /// skipped). A run is `c` channels of one tap, or, without dilation along the columns, the
    /// channels of every tap of a kernel row that falls inside the input (`kw·c` in the interior).
    #[inline(always)]
    fn for_each_run(&self, rows: Range<usize>, mut f: impl FnMut(usize, usize, usize, usize)) {
        let (sh, sw) = self.strides;
        let (dh, dw) = self.dilation;
        let (pt, pl) = self.pad;
        let c = self.c;
        for row in rows {
            let (b, oy, ox) = (row / (self.oh * self.ow), row / self.ow % self.oh, row % self.ow);
            // Columns of the taps: ix = ox·sw + kx·dw - pl, inside 0..w.
            let left = ox * sw;
            for ky in 0..self.kh {
                let Some(iy) = (oy * sh + ky * dh).checked_sub(pt).filter(|&iy| iy < self.h) else {
                    continue;
                };
                let line = (b * self.h + iy) * self.w;
                if dw == 1 {
                    let kx0 = pl.saturating_sub(left);
                    let kx1 = self.kw.min((self.w + pl).saturating_sub(left));
                    if kx0 < kx1 {
                        let ix0 = left + kx0 - pl;
                        f(row, (ky * self.kw + kx0) * c, (line + ix0) * c, (kx1 - kx0) * c);
                    }
                    continue;
                }
                for kx in 0..self.kw {
                    if let Some(ix) = (left + kx * dw).checked_sub(pl).filter(|&ix| ix < self.w) {
                        f(row, (ky * self.kw + kx) * c, (line + ix) * c, c);
                    }
                }
            }
        }
    }
}

/// `len` rows of `width` elements starting at row `first`, cut in halves at a row.
struct Rows<'a, T> {
    first: usize,
    data: &'a mut [T],
    width: usize,
}

impl<T: Send> Halves for Rows<'_, T> {
    fn halves(self) -> (Self, Self) {
        let rows = self.data.len() / self.width.max(1);
        let (a, b) = self.data.split_at_mut(rows / 2 * self.width);
        (Rows { data: a, ..self }, Rows { first: self.first + rows / 2, data: b, width: self.width })
    }
}

impl<T> Rows<'_, T> {
    fn range(&self) -> Range<usize> {
        self.first..self.first + self.data.len() / self.width.max(1)
    }
}

/// The rows `rows` of the patch matrix of `x` (`[n, h, w, c]`) into `tile`, replacing its
/// contents.
#[inline(always)]
fn im2col<T: Element>(x: &[T], g: &ConvGeometry, rows: Range<usize>, tile: &mut Vec<T>) {
    let (patch, first) = (g.patch(), rows.start);
    tile.clear();
    // Zeros first: the padding's runs are skipped below, so they stay zero.
    tile.resize(rows.len() * patch, T::zero());
    g.for_each_run(rows, |row, at, from, len| {
        let to = (row - first) * patch + at;
        tile[to..to + len].copy_from_slice(&x[from..from + len]);
    });
}

/// The output `[rows, out]` of the convolution of `x` with `kernel` (`[patch, out]`) and `bias`.
pub(crate) fn conv_forward<T: Element>(x: &[T], kernel: &[T], bias: Option<&[T]>, g: &ConvGeometry) -> Vec<T> {
    let oc = kernel.len() / g.patch().max(1);
    let mut out = pool::take(g.rows() * oc);
    out.resize(g.rows() * oc, T::zero());
    let parts = Rows { first: 0, data: &mut out[..], width: oc };
    split_in_two(parts, g.split(oc), |part| {
        vectorized(
            #[inline(always)]
            || forward_rows(x, kernel, bias, g, part, g.tile_rows()),
        )
    });
    out
}

#[inline(always)]
fn forward_rows<T: Element>(
    x: &[T],
    kernel: &[T],
    bias: Option<&[T]>,
    g: &ConvGeometry,
    out: Rows<'_, T>,
    tile_rows: usize,
) {
    let (patch, oc, rows) = (g.patch(), out.width, out.range());
    let add_bias = |y: &mut [T]| {
        if let Some(b) = bias {
            y.chunks_exact_mut(oc).for_each(|row| row.iter_mut().zip(b).for_each(|(y, &b)| *y = *y + b));
        }
    };
    let kernel_matrix = MatRef::new(kernel, patch, oc, false);
    if g.is_pointwise() {
        let x = &x[rows.start * patch..rows.end * patch];
        gemm_single(MatRef::new(x, rows.len(), patch, false), kernel_matrix, out.data);
        add_bias(out.data);
    } else if g.direct() {
        let first = rows.start;
        g.for_each_run(rows, |row, at, from, len| {
            let y = &mut out.data[(row - first) * oc..(row - first + 1) * oc];
            for (i, &v) in x[from..from + len].iter().enumerate() {
                let k = &kernel[(at + i) * oc..(at + i + 1) * oc];
                y.iter_mut().zip(k).for_each(|(y, &k)| *y = *y + v * k);
            }
        });
        add_bias(out.data);
    } else {
        let mut tile = pool::take(tile_rows * patch);
        for start in rows.clone().step_by(tile_rows) {
            let end = (start + tile_rows).min(rows.end);
            im2col(x, g, start..end, &mut tile);
            let y = &mut out.data[(start - rows.start) * oc..(end - rows.start) * oc];
            // Each tile's output is written by the product and gets its bias while in cache.
            gemm_single(MatRef::new(&tile, end - start, patch, false), kernel_matrix, y);
            add_bias(y);
        }
        pool::give(tile);
    }
}

/// `out += a·b` (the product goes through a scratch buffer from the pool).
#[inline(always)]
fn add_product<T: Element>(a: MatRef<'_, T>, b: MatRef<'_, T>, out: &mut [T]) {
    let mut product = pool::take(out.len());
    product.resize(out.len(), T::zero());
    gemm_single(a, b, &mut product);
    out.iter_mut().zip(&product).for_each(|(o, &p)| *o = *o + p);
    pool::give(product);
}

/// The kernel gradient `Pᵀ·grad` (`[patch, out]`) of a convolution of `x`, given the output
/// gradient `grad` (`[rows, out]`).
pub(crate) fn conv_kernel_grad<T: Element>(x: &[T], grad: &[T], g: &ConvGeometry, oc: usize) -> Vec<T> {
    let (mut dk, other) = split_in_two(0..g.rows(), g.split(oc), |rows| {
        vectorized(
            #[inline(always)]
            || kernel_grad_rows(x, grad, g, oc, rows, g.tile_rows()),
        )
    });
    if let Some(other) = other {
        dk.iter_mut().zip(&other).for_each(|(d, &o)| *d = *d + o);
        pool::give(other);
    }
    dk
}

#[inline(always)]
fn kernel_grad_rows<T: Element>(
    x: &[T],
    grad: &[T],
    g: &ConvGeometry,
    oc: usize,
    rows: Range<usize>,
    tile_rows: usize,
) -> Vec<T> {
    let patch = g.patch();
    let mut dk = pool::take(patch * oc);
    dk.resize(patch * oc, T::zero());
    let grad_of = |rows: &Range<usize>| &grad[rows.start * oc..rows.end * oc];
    if g.is_pointwise() {
        let x = &x[rows.start * patch..rows.end * patch];
        gemm_single(
            MatRef::new(x, patch, rows.len(), true),
            MatRef::new(grad_of(&rows), rows.len(), oc, false),
            &mut dk,
        );
    } else if g.direct() {
        g.for_each_run(rows, |row, at, from, len| {
            let gy = &grad[row * oc..(row + 1) * oc];
            for (ci, &v) in x[from..from + len].iter().enumerate() {
                let d = &mut dk[(at + ci) * oc..(at + ci + 1) * oc];
                d.iter_mut().zip(gy).for_each(|(d, &gy)| *d = *d + v * gy);
            }
        });
    } else {
        let mut tile = pool::take(tile_rows * patch);
        for start in rows.clone().step_by(tile_rows) {
            let tile_range = start..(start + tile_rows).min(rows.end);
            let t = tile_range.len();
            im2col(x, g, tile_range.clone(), &mut tile);
            add_product(MatRef::new(&tile, patch, t, true), MatRef::new(grad_of(&tile_range), t, oc, false), &mut dk);
        }
        pool::give(tile);
    }
    dk
}

/// The input gradient (`[n, h, w, c]`) of a convolution with `kernel` (`[patch, out]`), given
/// the output gradient `grad` (`[rows, out]`).
pub(crate) fn conv_input_grad<T: Element>(grad: &[T], kernel: &[T], g: &ConvGeometry) -> Vec<T> {
    let oc = kernel.len() / g.patch().max(1);
    let sample = g.h * g.w * g.c;
    let mut dx = pool::take(g.n * sample);
    dx.resize(g.n * sample, T::zero());
    let parts = Rows { first: 0, data: &mut dx[..], width: sample };
    split_in_two(parts, g.n > 1 && g.split(oc), |part| {
        vectorized(
            #[inline(always)]
            || input_grad_samples(grad, kernel, g, part, g.tile_rows()),
        )
    });
    dx
}

#[inline(always)]
fn input_grad_samples<T: Element>(grad: &[T], kernel: &[T], g: &ConvGeometry, dx: Rows<'_, T>, tile_rows: usize) {
    let (patch, oc) = (g.patch(), kernel.len() / g.patch().max(1));
    let samples = dx.range();
    let per_sample = g.oh * g.ow;
    let rows = samples.start * per_sample..samples.end * per_sample;
    // Offsets into `dx` count from this part's first sample.
    let base = samples.start * dx.width;
    let kernel_t = MatRef::new(kernel, oc, patch, true);
    if g.is_pointwise() {
        let gr = &grad[rows.start * oc..rows.end * oc];
        gemm_single(MatRef::new(gr, rows.len(), oc, false), kernel_t, dx.data);
    } else if g.direct() {
        g.for_each_run(rows, |row, at, to, len| {
            let gy = &grad[row * oc..(row + 1) * oc];
            for ci in 0..len {
                let k = &kernel[(at + ci) * oc..(at + ci + 1) * oc];
                let dot = gy.iter().zip(k).fold(T::zero(), |s, (&a, &b)| s + a * b);
                dx.data[to - base + ci] = dx.data[to - base + ci] + dot;
            }
        });
    } else {
        let mut tile = pool::take(tile_rows * patch);
        for start in rows.clone().step_by(tile_rows) {
            let tile_range = start..(start + tile_rows).min(rows.end);
            tile.clear();
            tile.resize(tile_range.len() * patch, T::zero());
            let gr = &grad[tile_range.start * oc..tile_range.end * oc];
            gemm_single(MatRef::new(gr, tile_range.len(), oc, false), kernel_t, &mut tile);
            g.for_each_run(tile_range, |row, at, to, len| {
                let src = &tile[(row - start) * patch + at..(row - start) * patch + at + len];
                let d = &mut dx.data[to - base..to - base + len];
                d.iter_mut().zip(src).for_each(|(d, &s)| *d = *d + s);
            });
        }
        pool::give(tile);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A geometry with padding, strides and dilation, whose patch rows hold `c` channels.
    fn geometry(c: usize) -> ConvGeometry {
        ConvGeometry { n: 3, h: 7, w: 6, c, kh: 3, kw: 2, oh: 4, ow: 5, strides: (2, 1), dilation: (1, 2), pad: (1, 1) }
    }

    fn values(len: usize, seed: usize) -> Vec<f64> {
        (0..len).map(|i| ((i * 7919 + seed * 104_729) % 1000) as f64 / 500.0 - 1.0).collect()
    }

    /// The three sums of a convolution by their definitions: output, kernel and input gradients.
    fn naive(x: &[f64], k: &[f64], grad: &[f64], g: &ConvGeometry, oc: usize) -> [Vec<f64>; 3] {
        let (mut y, mut dk, mut dx) = (vec![0.0; g.rows() * oc], vec![0.0; k.len()], vec![0.0; x.len()]);
        for row in 0..g.rows() {
            let (b, oy, ox) = (row / (g.oh * g.ow), row / g.ow % g.oh, row % g.ow);
            for ky in 0..g.kh {
                for kx in 0..g.kw {
                    let iy = (oy * g.strides.0 + ky * g.dilation.0) as isize - g.pad.0 as isize;
                    let ix = (ox * g.strides.1 + kx * g.dilation.1) as isize - g.pad.1 as isize;
                    if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                        continue;
                    }
                    for ci in 0..g.c {
                        let xi = ((b * g.h + iy as usize) * g.w + ix as usize) * g.c + ci;
                        for o in 0..oc {
                            let ki = ((ky * g.kw + kx) * g.c + ci) * oc + o;
                            y[row * oc + o] += x[xi] * k[ki];
                            dk[ki] += x[xi] * grad[row * oc + o];
                            dx[xi] += k[ki] * grad[row * oc + o];
                        }
                    }
                }
            }
        }
        [y, dk, dx]
    }

    fn assert_close(what: &str, got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{what}: lengths");
        for (i, (a, b)) in got.iter().zip(want).enumerate() {
            assert!((a - b).abs() < 1e-12, "{what}[{i}]: {a} vs {b}");
        }
    }

    #[test]
    fn every_path_and_tile_size_sums_what_the_definition_sums() {
        let oc = 3;
        // 2 channels take the direct path, 6 the tiled one; tiles of 8 rows cut the 60 rows
        // unevenly, and the split halves cut the batch of 3 and the rows at odd places.
        for c in [2, 6] {
            let g = geometry(c);
            let (x, k, grad) = (values(g.n * g.h * g.w * c, 1), values(g.patch() * oc, 2), values(g.rows() * oc, 3));
            let [y, dk, dx] = naive(&x, &k, &grad, &g, oc);
            let bias = vec![0.0; oc];
            for tile in [8, 1000] {
                let mut out = vec![0.0; g.rows() * oc];
                forward_rows(&x, &k, Some(&bias), &g, Rows { first: 0, data: &mut out, width: oc }, tile);
                assert_close(&format!("forward, c {c}, tile {tile}"), &out, &y);
                let got = kernel_grad_rows(&x, &grad, &g, oc, 0..g.rows(), tile);
                assert_close(&format!("kernel gradient, c {c}, tile {tile}"), &got, &dk);
                let mut got = vec![0.0; x.len()];
                let width = g.h * g.w * c;
                input_grad_samples(&grad, &k, &g, Rows { first: 0, data: &mut got, width }, tile);
                assert_close(&format!("input gradient, c {c}, tile {tile}"), &got, &dx);
            }
            // The public entries, split over the two cores where the machine has them.
            assert_close("conv_forward", &conv_forward(&x, &k, Some(&bias), &g), &y);
            assert_close("conv_kernel_grad", &conv_kernel_grad(&x, &grad, &g, oc), &dk);
            assert_close("conv_input_grad", &conv_input_grad(&grad, &k, &g), &dx);
        }
    }
}
