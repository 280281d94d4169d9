//! Matrix product. `y = op(a)·op(b)` where `op` is identity or transpose; for `y = a·b`,
//! `da = g·bᵀ` and `db = aᵀ·g`.
//!
//! Transposed operands never get copied: both kernels (`gemm`'s and strata's own in
//! `microkernel.rs`) read any row and column strides, so a transpose is a swap of the two
//! strides. The backward rules use this too.

use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tensor::{pool, Element, Tensor};
use crate::threads::SendPtr;

/// A matrix inside a buffer: rows, columns and the strides that read it, possibly transposed.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a, T> {
    data: &'a [T],
    rows: usize,
    cols: usize,
    row_stride: isize,
    col_stride: isize,
}

impl<'a, T> MatRef<'a, T> {
    pub(crate) fn new(data: &'a [T], rows: usize, cols: usize, transposed: bool) -> Self {
        // Stored row-major as [rows, cols] unless transposed, then stored as [cols, rows].
        if transposed {
            MatRef { data, rows, cols, row_stride: 1, col_stride: rows as isize }
        } else {
            MatRef { data, rows, cols, row_stride: cols as isize, col_stride: 1 }
        }
    }
}

/// With more than two threads, from this many multiply-adds up gemm's own threading takes over
/// (it splits the packed panels among its pool; at smaller sizes its synchronisation costs
/// more than it gains).
const PARALLEL_MIN_MACS: usize = 1 << 22;

/// From this many multiply-adds up, the product is cut in two halves along its longest side
/// (rows, columns, or the inner dimension), each computed by a single-threaded kernel on
/// strata's helper thread and this one. With two threads this serves every size: the W2 shapes
/// (32x784 by 784x128 is 2^21.6) gain from a second core this way, where gemm's fine-grained
/// split loses, and W3's (256x784 by 784x512 and its gradients) ran at 160-190 GFLOP/s split in
/// halves against 124-177 through gemm's pool (docs/performance.md).
const SPLIT_MIN_MACS: usize = 1 << 20;

/// The largest output (elements) split along the inner dimension: the second half's scratch
/// sum is added on this thread afterwards, reading it from the other core's cache, which for
/// W2's 32x128 output is cheap and for W3's 256x512 cost more than the split along rows.
const K_SPLIT_MAX_OUTPUT: usize = 1 << 14;

/// Append `a·b` to `out`'s spare capacity (reserved here), written once by the kernel.
pub(crate) fn gemm_append<T: Element>(a: MatRef<'_, T>, b: MatRef<'_, T>, out: &mut Vec<T>) {
    assert!(a.cols == b.rows, "gemm: operand sizes do not fit");
    let len = a.rows * b.cols;
    out.reserve(len);
    if a.cols == 0 {
        // An empty sum: the kernel would have nothing to write.
        out.resize(out.len() + len, T::zero());
        return;
    }
    let spare = out.spare_capacity_mut();
    // SAFETY: the spare capacity holds `len` elements; the kernel writes every element of the
    // product without reading it, so all `len` are initialized when `set_len` runs.
    unsafe {
        gemm_raw(a, b, spare.as_mut_ptr().cast::<T>());
        out.set_len(out.len() + len);
    }
}

/// # Safety
/// `out` must be valid for `a.rows * b.cols` writes, and not be
/// accessed elsewhere meanwhile.
unsafe fn gemm_raw<T: Element>(a: MatRef<'_, T>, b: MatRef<'_, T>, out: *mut T) {
    debug_assert!(a.data.len() >= a.rows * a.cols && b.data.len() >= b.rows * b.cols);
    if a.rows == 0 || b.cols == 0 {
        return;
    }
    let macs = a.rows * a.cols * b.cols;
    if macs <= SMALL_MAX_MACS && b.col_stride == 1 && b.cols >= 8 && !own_kernel::<T>() {
        small_gemm(a, b, out);
        return;
    }
    let threads = crate::threads::num_threads();
    let job = Gemm {
        m: a.rows,
        n: b.cols,
        k: a.cols,
        out: SendPtr(out),
        out_row_stride: b.cols as isize,
        a: SendPtr(a.data.as_ptr() as *mut T),
        a_strides: (a.row_stride, a.col_stride),
        b: SendPtr(b.data.as_ptr() as *mut T),
        b_strides: (b.row_stride, b.col_stride),
    };
    // SAFETY (every call below): the sizes were checked by the callers' shape checks: each
    // operand lies within its slice under its strides, `out` is valid as the caller promised,
    // and the two halves of a split write disjoint buffers or disjoint parts of `out`.
    if threads > 2 && macs >= PARALLEL_MIN_MACS {
        // gemm's pool takes both cores: the helper must not spin beside it.
        crate::threads::rest_helper();
        job.run(gemm::Parallelism::Rayon(threads))
    } else if threads > 1 && macs >= SPLIT_MIN_MACS && job.k > job.m.max(job.n) && job.m * job.n <= K_SPLIT_MAX_OUTPUT {
        // Split along k: each half sums over half the inner dimension, the second into a
        // scratch buffer that is then added. For x·W this gives each core the same rows of W
        // that it gets in the kernel gradient (rows of xᵀ·g) and in the optimizer's halves, so
        // each core keeps touching the same half of the weights and no cache lines bounce.
        let mut scratch: Vec<T> = pool::take(job.m * job.n);
        let (first, second) = job.k_halves(scratch.spare_capacity_mut().as_mut_ptr().cast::<T>());
        crate::threads::join(
            || unsafe { first.run(gemm::Parallelism::None) },
            || unsafe { second.run(gemm::Parallelism::None) },
        );
        // The second half wrote all m x n elements of the scratch (k - k/2 > 0 as k > 1).
        scratch.set_len(job.m * job.n);
        let out = std::slice::from_raw_parts_mut(out, job.m * job.n);
        out.iter_mut().zip(&scratch).for_each(|(o, s)| *o = *o + *s);
        pool::give(scratch);
    } else if threads > 1 && macs >= SPLIT_MIN_MACS {
        let (first, second) = job.halves();
        crate::threads::join(
            || unsafe { first.run(gemm::Parallelism::None) },
            || unsafe { second.run(gemm::Parallelism::None) },
        );
    } else {
        job.run(gemm::Parallelism::None)
    }
}

/// Single-threaded f32 products of at most this many multiply-adds run on strata's own kernel
/// (`ops/microkernel.rs`) where the CPU has AVX2 and FMA; larger ones on `gemm`'s.
const OWN_KERNEL_MAX_MACS: usize = 1 << 22;

/// Whether single-threaded products of `T` go to strata's own kernel: f32 on a CPU with AVX2
/// and FMA, unless `STRATA_MATMUL_KERNEL=gemm` asks for `gemm`'s everywhere (to compare the two,
/// or to rule strata's out when a result looks wrong).
fn own_kernel<T: Element>() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>()
            && *ENABLED.get_or_init(|| {
                super::microkernel::available() && std::env::var("STRATA_MATMUL_KERNEL").as_deref() != Ok("gemm")
            })
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Where strata's own kernel does not run (f64, or a CPU without AVX2), products of at most
/// this many multiply-adds skip the kernel library: its dispatch and packing cost more than the
/// arithmetic (lecture 000's Iris network has five such products per step, e.g. 32x2 by 2x32).
const SMALL_MAX_MACS: usize = 1 << 12;

/// `out = a·b` by plain loops, row by row: the innermost loop runs along a row of `b` and of
/// `out`, contiguous (the caller checks `b`'s column stride is 1) and at least 8 long, so it
/// vectorizes.
///
/// # Safety
/// As [`gemm_raw`].
unsafe fn small_gemm<T: Element>(a: MatRef<'_, T>, b: MatRef<'_, T>, out: *mut T) {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    let at =
        |i: usize, p: usize| *a.data.get_unchecked((i as isize * a.row_stride + p as isize * a.col_stride) as usize);
    for i in 0..m {
        // Possibly uninitialized until here: zeroed before any reference to it exists.
        out.add(i * n).write_bytes(0, n);
        let row = std::slice::from_raw_parts_mut(out.add(i * n), n);
        for p in 0..k {
            let scale = at(i, p);
            let b_row = std::slice::from_raw_parts(b.data.as_ptr().offset(p as isize * b.row_stride), n);
            row.iter_mut().zip(b_row).for_each(|(o, &x)| *o = *o + scale * x);
        }
    }
}

/// One product in raw form, so it can be cut into halves that view the same buffers.
#[derive(Clone, Copy)]
struct Gemm<T> {
    m: usize,
    n: usize,
    k: usize,
    out: SendPtr<T>,
    out_row_stride: isize,
    a: SendPtr<T>,
    a_strides: (isize, isize),
    b: SendPtr<T>,
    b_strides: (isize, isize),
}

impl<T: Element> Gemm<T> {
    /// Two products covering this one: the output's rows split when it has more rows than
    /// columns (the halves share `b`), else its columns (they share `a`).
    fn halves(self) -> (Self, Self) {
        if self.m >= self.n {
            let m1 = self.m / 2;
            let second = Gemm {
                m: self.m - m1,
                // SAFETY: row m1 lies inside both buffers (m1 < m).
                out: SendPtr(unsafe { self.out.0.offset(m1 as isize * self.out_row_stride) }),
                a: SendPtr(unsafe { self.a.0.offset(m1 as isize * self.a_strides.0) }),
                ..self
            };
            (Gemm { m: m1, ..self }, second)
        } else {
            let n1 = self.n / 2;
            let second = Gemm {
                n: self.n - n1,
                // SAFETY: column n1 lies inside both buffers (n1 < n).
                out: SendPtr(unsafe { self.out.0.add(n1) }),
                b: SendPtr(unsafe { self.b.0.offset(n1 as isize * self.b_strides.1) }),
                ..self
            };
            (Gemm { n: n1, ..self }, second)
        }
    }

    /// Two products over the halves of the inner dimension: the first writes `out`
    /// as this one would, the second writes `scratch` (`m x n`, row-major), to be added.
    fn k_halves(self, scratch: *mut T) -> (Self, Self) {
        let k1 = self.k / 2;
        let second = Gemm {
            k: self.k - k1,
            out: SendPtr(scratch),
            out_row_stride: self.n as isize,
            // SAFETY: column k1 of a and row k1 of b lie inside their buffers (k1 < k).
            a: SendPtr(unsafe { self.a.0.offset(k1 as isize * self.a_strides.1) }),
            b: SendPtr(unsafe { self.b.0.offset(k1 as isize * self.b_strides.0) }),
            ..self
        };
        (Gemm { k: k1, ..self }, second)
    }

    /// # Safety
    /// The pointers must cover the sizes and strides, and `out` must not be read or written
    /// elsewhere meanwhile.
    unsafe fn run(self, parallelism: gemm::Parallelism) {
        #[cfg(target_arch = "x86_64")]
        if matches!(parallelism, gemm::Parallelism::None)
            && self.k > 0
            && self.m * self.n * self.k <= OWN_KERNEL_MAX_MACS
            && own_kernel::<T>()
        {
            // T is f32 (checked above), so the casts only rename the pointers' type.
            super::microkernel::run(&super::microkernel::Product {
                m: self.m,
                n: self.n,
                k: self.k,
                a: self.a.0.cast::<f32>(),
                a_strides: self.a_strides,
                b: self.b.0.cast::<f32>(),
                b_strides: self.b_strides,
                out: self.out.0.cast::<f32>(),
                out_strides: (self.out_row_stride, 1),
            });
            return;
        }
        // `T` is f32 or f64 (Element is sealed), the types gemm dispatches on.
        gemm::gemm(
            self.m,
            self.n,
            self.k,
            self.out.0,
            1,
            self.out_row_stride,
            false, // overwrite `out` (it may be uninitialized), never read it
            self.a.0,
            self.a_strides.1,
            self.a_strides.0,
            self.b.0,
            self.b_strides.1,
            self.b_strides.0,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        )
    }
}

impl<T: Element> Tensor<T> {
    /// Matrix product of `[m, k]` by `[k, n]`, or batched: `[b, m, k]` by `[b, k, n]`.
    ///
    /// ```
    /// use strata::Tensor;
    /// let a = Tensor::<f32>::from_f64(&[1., 2., 3., 4.], [2, 2]).unwrap();
    /// let b = Tensor::<f32>::from_f64(&[5., 6., 7., 8.], [2, 2]).unwrap();
    /// assert_eq!(a.matmul(&b).unwrap().to_vec(), vec![19., 22., 43., 50.]);
    /// ```
    ///
    /// # Errors
    /// When the ranks are not 2 and 2 or 3 and 3, or inner dimensions or batch sizes differ.
    pub fn matmul(&self, rhs: &Tensor<T>) -> Result<Tensor<T>> {
        self.matmul_t(false, rhs, false)
    }

    /// `op(self)·op(rhs)` where `op` transposes the last two axes when its flag is set, without
    /// copying: `x.matmul_t(false, &w, true)` is `x·wᵀ` (PyTorch's `linear`).
    ///
    /// # Errors
    /// As [`Tensor::matmul`], for the transposed shapes.
    pub fn matmul_t(&self, transpose_lhs: bool, rhs: &Tensor<T>, transpose_rhs: bool) -> Result<Tensor<T>> {
        let (batch, m, k, n) = matmul_dims(self.shape(), transpose_lhs, rhs.shape(), transpose_rhs)?;
        let mut out = pool::take(batch * m * n);
        let (a_size, b_size) = (m * k, k * n);
        for i in 0..batch {
            let a = MatRef::new(&self.data()[i * a_size..(i + 1) * a_size], m, k, transpose_lhs);
            let b = MatRef::new(&rhs.data()[i * b_size..(i + 1) * b_size], k, n, transpose_rhs);
            gemm_append(a, b, &mut out);
        }
        let shape = if self.rank() == 3 { Shape::new([batch, m, n]) } else { Shape::new([m, n]) };
        Ok(Tensor::from_op(out, shape, &[self, rhs], MatMul { transpose_lhs, transpose_rhs }))
    }
}

/// (batch, m, k, n) of `op(lhs)·op(rhs)`, or an error naming both shapes.
fn matmul_dims(lhs: &Shape, tl: bool, rhs: &Shape, tr: bool) -> Result<(usize, usize, usize, usize)> {
    let (batch, (a0, a1), (b0, b1)) = match (lhs.dims(), rhs.dims()) {
        (&[a0, a1], &[b0, b1]) => (1, (a0, a1), (b0, b1)),
        (&[ba, a0, a1], &[bb, b0, b1]) if ba == bb => (ba, (a0, a1), (b0, b1)),
        (&[ba, _, _], &[bb, _, _]) => {
            return Err(Error::mismatch("matmul", lhs, rhs, format!("batch sizes {ba} and {bb} differ")))
        }
        _ => {
            return Err(Error::mismatch("matmul", lhs, rhs, "expected two rank-2 or two rank-3 tensors"));
        }
    };
    let (m, k) = if tl { (a1, a0) } else { (a0, a1) };
    let (k2, n) = if tr { (b1, b0) } else { (b0, b1) };
    if k != k2 {
        return Err(Error::mismatch("matmul", lhs, rhs, format!("inner dimensions {k} and {k2} differ")));
    }
    Ok((batch, m, k, n))
}

/// The backward of `y = op(a)·op(b)`. With `A = op(a)`, `B = op(b)`: `dA = g·Bᵀ`, `dB = Aᵀ·g`;
/// when an operand was transposed its gradient is the transpose of that, which again is only a
/// choice of flags (e.g. `y = a·bᵀ`: `da = g·b`, `db = gᵀ·a`).
struct MatMul {
    transpose_lhs: bool,
    transpose_rhs: bool,
}
impl<T: Element> Backward<T> for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let (a, b) = (&x[0], &x[1]);
        // An input that needs no gradient (a batch of data) costs nothing: a whole product saved.
        let da = match (a.requires_grad(), self.transpose_lhs) {
            (false, _) => None,
            (true, false) => Some(g.matmul_t(false, b, !self.transpose_rhs)?),
            (true, true) => Some(b.matmul_t(self.transpose_rhs, g, true)?),
        };
        let db = match (b.requires_grad(), self.transpose_rhs) {
            (false, _) => None,
            (true, false) => Some(a.matmul_t(!self.transpose_lhs, g, false)?),
            (true, true) => Some(g.matmul_t(true, a, self.transpose_lhs)?),
        };
        Ok(vec![da, db])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded_rng;

    /// `op(a)·op(b)` summed in f64 from the f32 operands, by the definition.
    fn reference(a: &Tensor<f32>, ta: bool, b: &Tensor<f32>, tb: bool) -> Vec<f64> {
        let (a_dims, b_dims) = (a.dims(), b.dims());
        let (m, k) = if ta { (a_dims[1], a_dims[0]) } else { (a_dims[0], a_dims[1]) };
        let n = if tb { b_dims[0] } else { b_dims[1] };
        let at = |i: usize, p: usize| f64::from(if ta { a.data()[p * m + i] } else { a.data()[i * k + p] });
        let bt = |p: usize, j: usize| f64::from(if tb { b.data()[j * k + p] } else { b.data()[p * n + j] });
        (0..m)
            .flat_map(|i| (0..n).map(move |j| (i, j)))
            .map(|(i, j)| (0..k).map(|p| at(i, p) * bt(p, j)).sum())
            .collect()
    }

    /// Every kernel path in f32 (strata's own kernel: full and partial 16-column panels, 1 to 6
    /// row blocks, the transposed-operand packing with and without 8x8 tiles, narrow outputs
    /// computed transposed; and, with two threads, the halves split by rows, columns or the
    /// inner dimension at the larger sizes) against the definition, for all four transpose
    /// flags.
    #[test]
    fn f32_products_match_the_definition_at_every_layout_and_size() {
        let mut rng = seeded_rng(5);
        let sizes = [
            (1, 1, 1),
            (1, 7, 3),
            (5, 3, 17),
            (7, 9, 16),
            (13, 17, 33),
            (32, 32, 64),
            (32, 64, 32),
            (32, 128, 10),
            (6, 40, 24),
            (33, 8, 8),
            (3, 300, 2),
            (128, 32, 10),
            (64, 256, 128),
            (40, 300, 300),
            (300, 300, 64),
            (130, 400, 130),
        ];
        for &(m, k, n) in &sizes {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = Tensor::<f32>::randn(if ta { [k, m] } else { [m, k] }, 0.0, 1.0, &mut rng).unwrap();
                let b = Tensor::<f32>::randn(if tb { [n, k] } else { [k, n] }, 0.0, 1.0, &mut rng).unwrap();
                let got = a.matmul_t(ta, &b, tb).unwrap();
                assert_eq!(got.dims(), [m, n]);
                let want = reference(&a, ta, &b, tb);
                for (idx, (&g, &w)) in got.data().iter().zip(&want).enumerate() {
                    let tol = 1e-5 * (k as f64).sqrt() * 4.0 + 1e-6;
                    assert!(
                        (f64::from(g) - w).abs() <= tol * (1.0 + w.abs()),
                        "{m}x{k}x{n} (transposed {ta}, {tb}): element {idx} is {g}, the definition gives {w}"
                    );
                }
            }
        }
    }

    /// The bias path (`linear` adds the bias to the product's rows) in f32.
    #[test]
    fn f32_linear_adds_the_product_to_the_bias() {
        let mut rng = seeded_rng(6);
        for &(n, k, m) in &[(32, 32, 64), (5, 3, 10), (32, 128, 10), (7, 20, 33)] {
            let x = Tensor::<f32>::randn([n, k], 0.0, 1.0, &mut rng).unwrap();
            let w = Tensor::<f32>::randn([k, m], 0.0, 1.0, &mut rng).unwrap();
            let bias = Tensor::<f32>::randn([m], 0.0, 1.0, &mut rng).unwrap();
            let got = x.linear(&w, Some(&bias)).unwrap();
            let want = reference(&x, false, &w, false);
            for (idx, (&g, &w)) in got.data().iter().zip(&want).enumerate() {
                let w = w + f64::from(bias.data()[idx % m]);
                assert!((f64::from(g) - w).abs() <= 1e-4 * (1.0 + w.abs()), "{n}x{k}x{m}: element {idx}: {g} vs {w}");
            }
        }
    }
}
