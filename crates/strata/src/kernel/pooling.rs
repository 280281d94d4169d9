//! The loops of 2-D max and average pooling (channels-last, `ops/pool.rs` states the rules):
//! one pass over the input per output window, vectorized along the channels, the samples cut
//! in two for the two cores. A max's backward finds the element it took again (the first in
//! the window equal to the output) instead of keeping an index per output from the forward pass.

use super::threads::{split_in_two, Halves};
use super::{pool, vectorized};
use crate::tensor::Element;
use std::ops::Range;

/// The windows of one pooling of an `[n, h, w, c]` input: for each output row and column, the
/// input range it covers (cut by the border under "same" padding, never empty).
pub(crate) struct PoolWindows {
    pub(crate) dims: [usize; 4],
    pub(crate) rows: Vec<Range<usize>>,
    pub(crate) cols: Vec<Range<usize>>,
}

/// From this many input elements up, pooling is cut in two for the two cores.
const SPLIT_MIN_ELEMENTS: usize = 1 << 16;

/// Whole samples of `width` elements each, from sample `first`, cut in halves at a sample.
struct Samples<'a, T> {
    first: usize,
    data: &'a mut [T],
    width: usize,
}

impl<T: Send> Halves for Samples<'_, T> {
    fn halves(self) -> (Self, Self) {
        let n = self.data.len() / self.width.max(1);
        let (a, b) = self.data.split_at_mut(n / 2 * self.width);
        (Samples { data: a, ..self }, Samples { first: self.first + n / 2, data: b, width: self.width })
    }
}

impl PoolWindows {
    fn out_len(&self) -> usize {
        self.dims[0] * self.rows.len() * self.cols.len() * self.dims[3]
    }

    fn split(&self) -> bool {
        self.dims[0] > 1 && self.dims.iter().product::<usize>() >= SPLIT_MIN_ELEMENTS
    }

    /// Calls `f(window_index, input_offsets)` for each window of sample `b`, in output order:
    /// `input_offsets` yields the offset of each of its pixels' channel run, row by row.
    #[inline(always)]
    fn for_each_window(&self, b: usize, mut f: impl FnMut(usize, &mut dyn Iterator<Item = usize>)) {
        let [_, h, w, c] = self.dims;
        let mut index = b * self.rows.len() * self.cols.len();
        for ry in &self.rows {
            for rx in &self.cols {
                let mut pixels = ry.clone().flat_map(|iy| rx.clone().map(move |ix| ((b * h + iy) * w + ix) * c));
                f(index, &mut pixels);
                index += 1;
            }
        }
    }
}

/// The pooled output `[n, oh, ow, c]` of `x`.
pub(crate) fn pool_forward<T: Element>(x: &[T], p: &PoolWindows, max: bool) -> Vec<T> {
    let mut out = pool::take(p.out_len());
    out.resize(p.out_len(), T::zero());
    let width = p.rows.len() * p.cols.len() * p.dims[3];
    let parts = Samples { first: 0, data: &mut out[..], width };
    split_in_two(parts, p.split(), |part| {
        vectorized(
            #[inline(always)]
            || forward_samples(x, p, max, part),
        )
    });
    out
}

#[inline(always)]
fn forward_samples<T: Element>(x: &[T], p: &PoolWindows, max: bool, out: Samples<'_, T>) {
    let c = p.dims[3];
    let base = out.first * out.width;
    let samples = out.first..out.first + out.data.len() / out.width.max(1);
    for b in samples {
        p.for_each_window(b, |index, pixels| {
            let acc = &mut out.data[index * c - base..(index + 1) * c - base];
            let mut count = 0usize;
            for (i, from) in pixels.enumerate() {
                let src = &x[from..from + c];
                count += 1;
                if i == 0 {
                    acc.copy_from_slice(src);
                } else if max {
                    // A NaN is taken (and kept), so it propagates as PyTorch's does.
                    acc.iter_mut().zip(src).for_each(|(a, &v)| *a = if v > *a || v.is_nan() { v } else { *a });
                } else {
                    acc.iter_mut().zip(src).for_each(|(a, &v)| *a = *a + v);
                }
            }
            if !max {
                let count = T::of(count as f64);
                acc.iter_mut().for_each(|a| *a = *a / count);
            }
        });
    }
}

/// The input gradient of a pooling of `x` that gave `y`, for the output gradient `g`.
pub(crate) fn pool_backward<T: Element>(x: &[T], y: &[T], g: &[T], p: &PoolWindows, max: bool) -> Vec<T> {
    let len = x.len();
    let mut dx = pool::take(len);
    dx.resize(len, T::zero());
    let width = p.dims[1] * p.dims[2] * p.dims[3];
    let parts = Samples { first: 0, data: &mut dx[..], width };
    split_in_two(parts, p.split(), |part| {
        vectorized(
            #[inline(always)]
            || backward_samples(x, y, g, p, max, part),
        )
    });
    dx
}

#[inline(always)]
fn backward_samples<T: Element>(x: &[T], y: &[T], g: &[T], p: &PoolWindows, max: bool, dx: Samples<'_, T>) {
    let c = p.dims[3];
    let base = dx.first * dx.width;
    let samples = dx.first..dx.first + dx.data.len() / dx.width.max(1);
    let mut pixels_of_window: Vec<usize> = Vec::new();
    let mut pending: Vec<bool> = Vec::new();
    for b in samples {
        p.for_each_window(b, |index, pixels| {
            let (gy, yy) = (&g[index * c..(index + 1) * c], &y[index * c..(index + 1) * c]);
            pixels_of_window.clear();
            pixels_of_window.extend(pixels);
            if max {
                // Each channel's gradient goes to the first pixel holding the maximum: pixels
                // in window order, channels vectorized, `pending` cleared where one was found.
                pending.clear();
                pending.resize(c, true);
                for &at in &pixels_of_window {
                    let (xs, d) = (&x[at..at + c], &mut dx.data[at - base..at - base + c]);
                    for ch in 0..c {
                        let (v, t) = (xs[ch], yy[ch]);
                        let hit = pending[ch] && (v == t || (v.is_nan() && t.is_nan()));
                        d[ch] = if hit { d[ch] + gy[ch] } else { d[ch] };
                        pending[ch] &= !hit;
                    }
                }
            } else {
                let count = T::of(pixels_of_window.len() as f64);
                for &at in &pixels_of_window {
                    let d = &mut dx.data[at - base..at - base + c];
                    d.iter_mut().zip(gy).for_each(|(d, &v)| *d = *d + v / count);
                }
            }
        });
    }
}
