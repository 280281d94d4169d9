//! strata's own f32 matrix-product kernel for the small and mid-sized products of training steps
//! (x86-64 with AVX2 and FMA, detected at run time).
//!
//! Why not leave these to `gemm` too: below about a million multiply-adds its packing of both
//! operands and its dispatch cost a large share of the product (lecture 000's 32x32 by 32x64 ran
//! at 60-80 GFLOP/s through it, and the 32x128 by 128x10 output layer of lecture 004 at 45). Here
//! the right operand is read in place when its rows are contiguous (packed otherwise, into a
//! reused buffer), the left operand is read by broadcasting single elements under any strides,
//! and each block of 6 output rows by 16 columns is summed in 12 registers over the whole inner
//! dimension and written once.

use std::arch::x86_64::{
    __m256, _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_permute2f128_ps, _mm256_setzero_ps,
    _mm256_shuffle_ps, _mm256_storeu_ps, _mm256_unpackhi_ps, _mm256_unpacklo_ps,
};
use std::cell::RefCell;

/// Output columns per panel: two 8-lane registers.
const NR: usize = 16;
/// Output rows per block: 6 x 2 accumulators, 2 registers of the right operand and one
/// broadcast fill 15 of the 16 AVX2 registers.
const MR: usize = 6;

/// Whether this CPU runs the kernel (the answer is cached by the standard library).
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// One f32 product `out = a·b` in raw form: `a` is `m x k`, `b` is `k x n`, `out` is `m x n`,
/// each under its (row, column) strides.
pub(super) struct Product {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: *const f32,
    pub a_strides: (isize, isize),
    pub b: *const f32,
    pub b_strides: (isize, isize),
    pub out: *mut f32,
    pub out_strides: (isize, isize),
}

thread_local! {
    // A panel of the right operand, copied when its rows are not contiguous (a transposed
    // weight) or narrower than a panel; kept between products so no step allocates it.
    static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// # Safety
/// [`available`] must be true; the pointers must cover the sizes under their strides, and
/// `out` must be valid for writes and not be accessed elsewhere meanwhile. `k` must be at
/// least 1.
pub(super) unsafe fn run(p: &Product) {
    // A narrow output (lecture 004's 10 classes) would leave most of each 16-column panel idle:
    // compute its transpose `bᵀ·aᵀ` instead, whose columns are the batch's rows.
    let swapped;
    let p = if p.n < NR && p.m > p.n {
        swapped = Product {
            m: p.n,
            n: p.m,
            a: p.b,
            a_strides: (p.b_strides.1, p.b_strides.0),
            b: p.a,
            b_strides: (p.a_strides.1, p.a_strides.0),
            out_strides: (p.out_strides.1, p.out_strides.0),
            ..*p
        };
        &swapped
    } else {
        p
    };
    PANEL.with(|panel| match panel.try_borrow_mut() {
        // SAFETY: this function's contract, and the narrow case was swapped above.
        Ok(mut buffer) => unsafe { run_with(p, &mut buffer) },
        // Only reachable if a product ran inside another on this thread; a fresh buffer is right.
        // SAFETY: as above.
        Err(_) => unsafe { run_with(p, &mut Vec::new()) },
    })
}

/// # Safety
/// As [`run`], with `p.n >= p.m` or `p.n >= NR` (the swap is done).
#[target_feature(enable = "avx2,fma")]
unsafe fn run_with(p: &Product, buffer: &mut Vec<f32>) {
    // SAFETY: the caller's contract (as `run`'s) covers every pointer read and written here.
    unsafe {
        let (b_rs, b_cs) = p.b_strides;
        for j0 in (0..p.n).step_by(NR) {
            let width = NR.min(p.n - j0);
            let (panel, panel_rs) = if width == NR && b_cs == 1 {
                (p.b.add(j0), b_rs)
            } else {
                // Copy columns j0..j0+width of b as k rows of NR (zero beyond `width`).
                buffer.clear();
                buffer.resize(p.k * NR, 0.0);
                let b = p.b.offset(j0 as isize * b_cs);
                let mut done = (0, 0);
                if b_rs == 1 {
                    // A transposed operand (a weight in `g·Wᵀ`): 8x8 tiles turned in registers.
                    done = pack_transposed(b, b_cs, p.k, width, buffer);
                }
                // What the tiles left (all of it for other layouts), column by column so that a
                // transposed operand's leftovers are still read contiguously.
                for c in 0..width {
                    let src = b.offset(c as isize * b_cs);
                    let first_row = if c < done.1 { done.0 } else { 0 };
                    for (row, dst) in buffer.chunks_exact_mut(NR).enumerate().skip(first_row) {
                        dst[c] = *src.offset(row as isize * b_rs);
                    }
                }
                (buffer.as_ptr(), NR as isize)
            };
            let mut i0 = 0;
            while i0 < p.m {
                // 7 or 8 rows left: two blocks of about 4 rather than 6 and a block of 1 or 2,
                // which would have too few accumulators to keep both FMA units busy.
                let rows = match p.m - i0 {
                    7 | 8 => 4,
                    left => MR.min(left),
                };
                let a = p.a.offset(i0 as isize * p.a_strides.0);
                let out = p.out.offset(i0 as isize * p.out_strides.0 + j0 as isize * p.out_strides.1);
                let block =
                    Block { k: p.k, a, a_strides: p.a_strides, panel, panel_rs, out, out_strides: p.out_strides };
                match rows {
                    6 => block.compute::<6>(width),
                    5 => block.compute::<5>(width),
                    4 => block.compute::<4>(width),
                    3 => block.compute::<3>(width),
                    2 => block.compute::<2>(width),
                    _ => block.compute::<1>(width),
                }
                i0 += rows;
            }
        }
    }
}

/// Copy the first `k / 8 * 8` rows and `width / 8 * 8` columns of a `k x width` operand whose
/// row stride is 1 (each column contiguous, `col_stride` apart) into `panel` (`k` rows of
/// [`NR`]); returns those two counts.
///
/// # Safety
/// The CPU must have AVX2; `b` must cover `k x width` under its strides and `panel` hold
/// `k * NR` elements.
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_transposed(
    b: *const f32,
    col_stride: isize,
    k: usize,
    width: usize,
    panel: &mut [f32],
) -> (usize, usize) {
    // SAFETY: the caller's contract: `b` covers `k x width` under its strides and `panel`
    // holds `k` rows of `NR`.
    unsafe {
        let (rows, cols) = (k / 8 * 8, width / 8 * 8);
        for c0 in (0..cols).step_by(8) {
            for p0 in (0..rows).step_by(8) {
                let column = |c: usize| _mm256_loadu_ps(b.offset((c0 + c) as isize * col_stride).add(p0));
                let tile = transpose8([
                    column(0),
                    column(1),
                    column(2),
                    column(3),
                    column(4),
                    column(5),
                    column(6),
                    column(7),
                ]);
                for (i, row) in tile.iter().enumerate() {
                    _mm256_storeu_ps(panel.as_mut_ptr().add((p0 + i) * NR + c0), *row);
                }
            }
        }
        (rows, cols)
    }
}

/// The transpose of an 8x8 tile held as 8 rows.
///
/// # Safety
/// The CPU must have AVX2.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let (t0, t1) = (_mm256_unpacklo_ps(r[0], r[1]), _mm256_unpackhi_ps(r[0], r[1]));
    let (t2, t3) = (_mm256_unpacklo_ps(r[2], r[3]), _mm256_unpackhi_ps(r[2], r[3]));
    let (t4, t5) = (_mm256_unpacklo_ps(r[4], r[5]), _mm256_unpackhi_ps(r[4], r[5]));
    let (t6, t7) = (_mm256_unpacklo_ps(r[6], r[7]), _mm256_unpackhi_ps(r[6], r[7]));
    let (u0, u1) = (_mm256_shuffle_ps::<0x44>(t0, t2), _mm256_shuffle_ps::<0xEE>(t0, t2));
    let (u2, u3) = (_mm256_shuffle_ps::<0x44>(t1, t3), _mm256_shuffle_ps::<0xEE>(t1, t3));
    let (u4, u5) = (_mm256_shuffle_ps::<0x44>(t4, t6), _mm256_shuffle_ps::<0xEE>(t4, t6));
    let (u6, u7) = (_mm256_shuffle_ps::<0x44>(t5, t7), _mm256_shuffle_ps::<0xEE>(t5, t7));
    [
        _mm256_permute2f128_ps::<0x20>(u0, u4),
        _mm256_permute2f128_ps::<0x20>(u1, u5),
        _mm256_permute2f128_ps::<0x20>(u2, u6),
        _mm256_permute2f128_ps::<0x20>(u3, u7),
        _mm256_permute2f128_ps::<0x31>(u0, u4),
        _mm256_permute2f128_ps::<0x31>(u1, u5),
        _mm256_permute2f128_ps::<0x31>(u2, u6),
        _mm256_permute2f128_ps::<0x31>(u3, u7),
    ]
}

/// Up to [`MR`] rows of the output by one panel of [`NR`] columns.
struct Block {
    k: usize,
    a: *const f32,
    a_strides: (isize, isize),
    panel: *const f32,
    panel_rs: isize,
    out: *mut f32,
    out_strides: (isize, isize),
}

impl Block {
    /// Sum the block's `R x width` outputs over the inner dimension and write them.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA; the block's pointers must cover `R` rows of `a` and
    /// of `out` and `k` rows of the panel under their strides.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn compute<const R: usize>(&self, width: usize) {
        // SAFETY: `run_with` built the block inside the product the caller's contract covers.
        unsafe {
            let mut acc = [[_mm256_setzero_ps(); 2]; R];
            let (a_rs, a_cs) = self.a_strides;
            let (mut a, mut b) = (self.a, self.panel);
            for _ in 0..self.k {
                let b0 = _mm256_loadu_ps(b);
                let b1 = _mm256_loadu_ps(b.add(8));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let x = _mm256_broadcast_ss(&*a.offset(r as isize * a_rs));
                    acc[0] = _mm256_fmadd_ps(x, b0, acc[0]);
                    acc[1] = _mm256_fmadd_ps(x, b1, acc[1]);
                }
                a = a.offset(a_cs);
                b = b.offset(self.panel_rs);
            }
            let (out_rs, out_cs) = self.out_strides;
            for (r, acc) in acc.iter().enumerate() {
                let out = self.out.offset(r as isize * out_rs);
                if width == NR && out_cs == 1 {
                    _mm256_storeu_ps(out, acc[0]);
                    _mm256_storeu_ps(out.add(8), acc[1]);
                } else {
                    let mut sums = [0.0f32; NR];
                    _mm256_storeu_ps(sums.as_mut_ptr(), acc[0]);
                    _mm256_storeu_ps(sums.as_mut_ptr().add(8), acc[1]);
                    for (c, &s) in sums[..width].iter().enumerate() {
                        out.offset(c as isize * out_cs).write(s);
                    }
                }
            }
        }
    }
}
