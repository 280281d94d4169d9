//! How many threads strata's kernels may use.
//!
//! Results do not depend on this number for a given setting, but may differ between settings
//! (a parallel matrix product can sum in another order): reproducibility is promised for the
//! same seed and the same thread count.

use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The number of threads kernels use: set by [`set_num_threads`], else the `STRATA_NUM_THREADS`
/// environment variable, else the machine's available parallelism.
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => {
            let from_env = std::env::var("STRATA_NUM_THREADS").ok().and_then(|v| v.parse::<usize>().ok());
            let n = from_env
                .filter(|&n| n > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            THREADS.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

/// Use `n` threads in kernels (at least 1).
pub fn set_num_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// Run `first` on this thread and `second` on strata's helper thread, and return when both are
/// done: the second core for work too small for a thread pool's wake-up (tens of microseconds)
/// to pay, such as the halves of a W2 matrix product (about 30 us each).
///
/// The helper spins for a while after each job before it sleeps, so the jobs of a training
/// step find it awake (as OpenMP's workers do). One caller at a time uses it; a concurrent or
/// nested call runs both closures on the calling thread, in order.
fn join<A: FnOnce() + Send, B: FnOnce() + Send>(first: A, second: B) {
    let Some(helper) = helper::HELPER.as_ref() else {
        first();
        second();
        return;
    };
    let Ok(_turn) = helper.busy.try_lock() else {
        first();
        second();
        return;
    };
    let mut second = Some(second);
    // SAFETY: `data` points at `second` on this stack frame, which outlives the job: this
    // function does not return before the helper has marked the job done.
    unsafe { helper.post(helper::Job { call: helper::call_once::<B>, data: (&mut second as *mut Option<B>).cast() }) };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(first));
    let helper_panicked = helper.wait();
    if let Err(payload) = result {
        std::panic::resume_unwind(payload);
    }
    assert!(!helper_panicked, "a job on strata's helper thread panicked");
}

/// Work that can be cut into two halves for the two cores: a slice at its middle, a range of
/// indices, several equal-length slices at the same place (tuples and arrays of them), a
/// matrix product along its rows, columns or inner dimension (`kernel/matmul.rs`).
pub(crate) trait Halves: Sized + Send {
    /// The two halves, which together cover `self` and do not overlap.
    fn halves(self) -> (Self, Self);
}

impl<T: Sync> Halves for &[T] {
    fn halves(self) -> (Self, Self) {
        self.split_at(self.len() / 2)
    }
}

impl<T: Send> Halves for &mut [T] {
    fn halves(self) -> (Self, Self) {
        let mid = self.len() / 2;
        self.split_at_mut(mid)
    }
}

impl Halves for std::ops::Range<usize> {
    fn halves(self) -> (Self, Self) {
        let mid = self.start + self.len() / 2;
        (self.start..mid, mid..self.end)
    }
}

impl<T: Send, const N: usize> Halves for [&mut [T]; N] {
    fn halves(self) -> (Self, Self) {
        let (mut first, mut second): ([&mut [T]; N], [&mut [T]; N]) =
            (std::array::from_fn(|_| &mut [][..]), std::array::from_fn(|_| &mut [][..]));
        for ((slice, a), b) in self.into_iter().zip(&mut first).zip(&mut second) {
            (*a, *b) = slice.halves();
        }
        (first, second)
    }
}

impl<T: Send> Halves for Vec<&mut [T]> {
    fn halves(self) -> (Self, Self) {
        self.into_iter().map(Halves::halves).unzip()
    }
}

impl<A: Halves, B: Halves> Halves for (A, B) {
    fn halves(self) -> (Self, Self) {
        let ((a1, a2), (b1, b2)) = (self.0.halves(), self.1.halves());
        ((a1, b1), (a2, b2))
    }
}

impl<A: Halves, B: Halves, C: Halves> Halves for (A, B, C) {
    fn halves(self) -> (Self, Self) {
        let ((a1, a2), (b1, b2), (c1, c2)) = (self.0.halves(), self.1.halves(), self.2.halves());
        ((a1, b1, c1), (a2, b2, c2))
    }
}

/// `work(parts)`, or, when `split` is true and kernels may use a second thread, `work` on each
/// of `parts`' two halves, one on this thread and one on the helper (see [`join`]); returns
/// the first (or only) result and the second half's. Callers decide `split` by their own
/// measured break-even size (a split costs a few microseconds of hand-over).
pub(crate) fn split_in_two<P: Halves, R: Send>(parts: P, split: bool, work: impl Fn(P) -> R + Sync) -> (R, Option<R>) {
    if !split || num_threads() < 2 {
        return (work(parts), None);
    }
    let (first, second) = parts.halves();
    let (mut first_result, mut second_result) = (None, None);
    join(|| first_result = Some(work(first)), || second_result = Some(work(second)));
    (first_result.expect("join runs both halves before it returns"), second_result)
}

/// A raw pointer that may cross to the helper thread: how the two halves of one job write
/// disjoint parts of one buffer.
#[derive(Clone, Copy)]
pub(crate) struct SendPtr<T>(pub(crate) *mut T);
// SAFETY: only used for the two halves of one job, which read shared inputs and write disjoint
// parts of the output while the caller's borrows keep every buffer alive.
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as for `Send`: the halves share it only to write disjoint parts.
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so that closures capture the whole `SendPtr`, not its field).
    pub(crate) fn get(self) -> *mut T {
        self.0
    }
}

/// Let the helper thread sleep now instead of spinning for the next job: called before work
/// that another pool spreads over every core, which a spinning helper would slow down.
pub(crate) fn rest_helper() {
    if let Some(helper) = helper::HELPER.as_ref() {
        helper.rest();
    }
}

mod helper {
    use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};
    use std::sync::{LazyLock, Mutex};
    use std::thread::Thread;
    use std::time::{Duration, Instant};

    const IDLE: u8 = 0;
    const POSTED: u8 = 1;
    const DONE: u8 = 2;
    const PANICKED: u8 = 3;
    /// How long the helper spins for the next job before it sleeps.
    const SPIN: Duration = Duration::from_micros(200);

    /// A type-erased `FnOnce` on the poster's stack.
    pub(super) struct Job {
        pub(super) call: unsafe fn(*mut ()),
        pub(super) data: *mut (),
    }

    /// # Safety
    /// `data` must point at a live `Option<F>`.
    pub(super) unsafe fn call_once<F: FnOnce()>(data: *mut ()) {
        // SAFETY: this function's contract: `data` points at a live `Option<F>`.
        if let Some(f) = unsafe { (*data.cast::<Option<F>>()).take() } {
            f();
        }
    }

    pub(super) struct Helper {
        pub(super) busy: Mutex<()>,
        state: AtomicU8,
        call: AtomicPtr<()>,
        data: AtomicPtr<()>,
        sleeping: AtomicBool,
        rest: AtomicBool,
        thread: Thread,
    }

    /// Started on first use; `None` when threads cannot be spawned (then `join` runs serially).
    pub(super) static HELPER: LazyLock<Option<&'static Helper>> = LazyLock::new(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new().name("strata-helper".into()).spawn(move || {
            let helper: &'static Helper = Box::leak(Box::new(Helper {
                busy: Mutex::new(()),
                state: AtomicU8::new(IDLE),
                call: AtomicPtr::new(std::ptr::null_mut()),
                data: AtomicPtr::new(std::ptr::null_mut()),
                sleeping: AtomicBool::new(false),
                rest: AtomicBool::new(false),
                thread: std::thread::current(),
            }));
            if tx.send(helper).is_ok() {
                helper.serve();
            }
        });
        spawned.ok().and_then(|_| rx.recv().ok())
    });

    impl Helper {
        /// # Safety
        /// The job's data must stay alive until [`Helper::wait`] returns.
        pub(super) unsafe fn post(&self, job: Job) {
            self.call.store(job.call as *mut (), Ordering::Relaxed);
            self.data.store(job.data, Ordering::Relaxed);
            self.state.store(POSTED, Ordering::Release);
            if self.sleeping.load(Ordering::SeqCst) {
                self.thread.unpark();
            }
        }

        /// Ask the helper to sleep instead of spinning until the next job.
        pub(super) fn rest(&self) {
            if !self.sleeping.load(Ordering::Relaxed) {
                self.rest.store(true, Ordering::Relaxed);
            }
        }

        /// Wait for the posted job; true when it panicked.
        pub(super) fn wait(&self) -> bool {
            loop {
                match self.state.load(Ordering::Acquire) {
                    DONE | PANICKED => break,
                    _ => std::hint::spin_loop(),
                }
            }
            let panicked = self.state.load(Ordering::Relaxed) == PANICKED;
            self.state.store(IDLE, Ordering::Relaxed);
            panicked
        }

        fn serve(&self) {
            loop {
                let since = Instant::now();
                let mut spins = 0u32;
                while self.state.load(Ordering::Acquire) != POSTED {
                    spins = spins.wrapping_add(1);
                    if spins.is_multiple_of(64) && (self.rest.swap(false, Ordering::Relaxed) || since.elapsed() > SPIN)
                    {
                        self.sleeping.store(true, Ordering::SeqCst);
                        // Re-check after announcing sleep, so a post in between is not missed.
                        if self.state.load(Ordering::SeqCst) != POSTED {
                            std::thread::park();
                        }
                        self.sleeping.store(false, Ordering::SeqCst);
                    } else {
                        std::hint::spin_loop();
                    }
                }
                let call = self.call.load(Ordering::Relaxed);
                let data = self.data.load(Ordering::Relaxed);
                // SAFETY: `post` stored a `call_once::<F>` with its matching data, alive until
                // the poster's `wait` returns, which is after the state below is stored.
                let outcome = std::panic::catch_unwind(|| unsafe {
                    let call: unsafe fn(*mut ()) = std::mem::transmute(call);
                    call(data)
                });
                self.state.store(if outcome.is_ok() { DONE } else { PANICKED }, Ordering::Release);
            }
        }
    }
}
