//! Matrix products `out = a·b` on raw buffers under any row and column strides (so a transpose
//! is a swap of strides, never a copy): strata's own f32 kernel (`microkernel.rs`) for small and
//! mid-sized single-threaded products, `gemm`'s for the rest, plain loops for tiny ones, and the
//! split of one product into halves for the two cores.

use super::pool;
use super::threads::{self, Halves, SendPtr};
use crate::tensor::Element;

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
    /// Whether the buffer holds every element the sizes and (non-negative) strides reach.
    fn covered(&self) -> bool {
        let last = |len: usize, stride: isize| len.saturating_sub(1) * stride.unsigned_abs();
        self.rows == 0
            || self.cols == 0
            || last(self.rows, self.row_stride) + last(self.cols, self.col_stride) < self.data.len()
    }

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

/// `out = a·b` on this thread alone, for kernels that split their work over the cores
/// themselves (a convolution's tiles): `out` is `a.rows x b.cols`, row-major.
pub(crate) fn gemm_single<T: Element>(a: MatRef<'_, T>, b: MatRef<'_, T>, out: &mut [T]) {
    assert!(a.cols == b.rows && out.len() == a.rows * b.cols, "gemm: operand sizes do not fit");
    assert!(a.covered() && b.covered(), "gemm: an operand is shorter than its sizes");
    if out.is_empty() {
        return;
    }
    if a.cols == 0 {
        out.fill(T::zero());
        return;
    }
    let job = Gemm {
        m: a.rows,
        n: b.cols,
        k: a.cols,
        out: SendPtr(out.as_mut_ptr()),
        out_row_stride: b.cols as isize,
        a: SendPtr(a.data.as_ptr() as *mut T),
        a_strides: (a.row_stride, a.col_stride),
        b: SendPtr(b.data.as_ptr() as *mut T),
        b_strides: (b.row_stride, b.col_stride),
        k_split_scratch: None,
    };
    // SAFETY: the operands lie within their slices (checked above: `MatRef::new`'s strides are
    // row-major or its transpose), and `out` is exclusively borrowed and exactly m x n long.
    unsafe { job.run(gemm::Parallelism::None) }
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
        // SAFETY: this function's contract is `small_gemm`'s.
        unsafe { small_gemm(a, b, out) };
        return;
    }
    let threads = threads::num_threads();
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
        k_split_scratch: None,
    };
    // Every `run` below is sound: the sizes were checked by the callers' shape checks, so each
    // operand lies within its slice under its strides, `out` is valid as the caller promised,
    // and the two halves of a split write disjoint buffers or disjoint parts of `out`.
    // SAFETY: as just said.
    let run_single = |half: Gemm<T>| unsafe { half.run(gemm::Parallelism::None) };
    if threads > 2 && macs >= PARALLEL_MIN_MACS {
        // gemm's pool takes both cores: the helper must not spin beside it.
        threads::rest_helper();
        // SAFETY: as above.
        unsafe { job.run(gemm::Parallelism::Rayon(threads)) }
    } else if threads > 1 && macs >= SPLIT_MIN_MACS && job.k > job.m.max(job.n) && job.m * job.n <= K_SPLIT_MAX_OUTPUT {
        // Split along k: each half sums over half the inner dimension, the second into a
        // scratch buffer that is then added. For x·W this gives each core the same rows of W
        // that it gets in the kernel gradient (rows of xᵀ·g) and in the optimizer's halves, so
        // each core keeps touching the same half of the weights and no cache lines bounce.
        let mut scratch: Vec<T> = pool::take(job.m * job.n);
        let scratch_ptr = SendPtr(scratch.spare_capacity_mut().as_mut_ptr().cast::<T>());
        threads::split_in_two(Gemm { k_split_scratch: Some(scratch_ptr), ..job }, true, run_single);
        // SAFETY: the second half wrote all m x n elements of the scratch (k - k/2 > 0 as
        // k > 1), and `out` holds the first half's m x n sums.
        let out = unsafe {
            scratch.set_len(job.m * job.n);
            std::slice::from_raw_parts_mut(out, job.m * job.n)
        };
        out.iter_mut().zip(&scratch).for_each(|(o, s)| *o = *o + *s);
        pool::give(scratch);
    } else {
        threads::split_in_two(job, threads > 1 && macs >= SPLIT_MIN_MACS, run_single);
    }
}

/// Single-threaded f32 products of at most this many multiply-adds run on strata's own kernel
/// (`kernel/microkernel.rs`) where the CPU has AVX2 and FMA; larger ones on `gemm`'s.
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
    // SAFETY: the caller's contract (as `gemm_raw`'s) covers `out`; `a` and `b` lie within
    // their slices under their strides.
    unsafe {
        let (m, k, n) = (a.rows, a.cols, b.cols);
        let at = |i: usize, p: usize| {
            *a.data.get_unchecked((i as isize * a.row_stride + p as isize * a.col_stride) as usize)
        };
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
    /// When set, the product is cut along the inner dimension, the second half's sums going
    /// to this `m x n` row-major buffer (for the caller to add).
    k_split_scratch: Option<SendPtr<T>>,
}

impl<T: Element> Halves for Gemm<T> {
    /// Two products covering this one: with a scratch buffer, the halves of the inner
    /// dimension; else the output's rows when it has more rows than columns (the halves share
    /// `b`), or its columns (they share `a`).
    fn halves(self) -> (Self, Self) {
        if let Some(scratch) = self.k_split_scratch {
            return Gemm { k_split_scratch: None, ..self }.k_halves(scratch.get());
        }
        if self.m >= self.n {
            let m1 = self.m / 2;
            let second = Gemm {
                m: self.m - m1,
                // Row m1 lies inside both buffers (m1 < m): the pointers stay in bounds.
                out: SendPtr(self.out.0.wrapping_offset(m1 as isize * self.out_row_stride)),
                a: SendPtr(self.a.0.wrapping_offset(m1 as isize * self.a_strides.0)),
                ..self
            };
            (Gemm { m: m1, ..self }, second)
        } else {
            let n1 = self.n / 2;
            let second = Gemm {
                n: self.n - n1,
                // Column n1 lies inside both buffers (n1 < n): the pointers stay in bounds.
                out: SendPtr(self.out.0.wrapping_add(n1)),
                b: SendPtr(self.b.0.wrapping_offset(n1 as isize * self.b_strides.1)),
                ..self
            };
            (Gemm { n: n1, ..self }, second)
        }
    }
}

impl<T: Element> Gemm<T> {
    /// Two products over the halves of the inner dimension: the first writes `out`
    /// as this one would, the second writes `scratch` (`m x n`, row-major), to be added.
    fn k_halves(self, scratch: *mut T) -> (Self, Self) {
        let k1 = self.k / 2;
        let second = Gemm {
            k: self.k - k1,
            out: SendPtr(scratch),
            out_row_stride: self.n as isize,
            // Column k1 of a and row k1 of b lie inside their buffers (k1 < k).
            a: SendPtr(self.a.0.wrapping_offset(k1 as isize * self.a_strides.1)),
            b: SendPtr(self.b.0.wrapping_offset(k1 as isize * self.b_strides.0)),
            ..self
        };
        (Gemm { k: k1, ..self }, second)
    }

    /// # Safety
    /// The pointers must cover the sizes and strides, and `out` must not be read or written
    /// elsewhere meanwhile.
    unsafe fn run(self, parallelism: gemm::Parallelism) {
        // SAFETY: the caller's contract: the pointers cover the sizes and strides and `out` is
        // this call's alone.
        unsafe {
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
}
