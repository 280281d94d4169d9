//! A per-thread pool of element buffers, so a training step reuses the previous step's
//! activation and gradient buffers instead of asking the allocator for each.
//!
//! A tensor hands its buffer back here when its last reference goes (`Inner`'s `Drop` in
//! `tensor/mod.rs`), and ops take their output buffers with [`take`] or [`collect`]. Steps of one
//! model allocate the same sizes in the same order, so a buffer of exactly the requested
//! capacity is nearly always waiting. Without the pool, lecture 000's step spent about a sixth of
//! its time in `malloc` and `free` (glibc serves blocks over 1 KiB from its bins and merges
//! them on free), and every step of lecture 004's network faulted in fresh pages for its
//! gradients.
//!
//! Bounded: at most [`MAX_BUFFERS`] buffers and [`MAX_BYTES`] per thread and element type, the
//! oldest dropped first; buffers under [`MIN_BYTES`] (the allocator's per-thread cache is as fast)
//! or over a quarter of the cap (datasets) are freed as usual.

use crate::tensor::Element;
use std::any::Any;
use std::cell::RefCell;

/// Buffers smaller than this go straight back to the allocator.
const MIN_BYTES: usize = 1024;
/// The most buffers one pool keeps.
const MAX_BUFFERS: usize = 64;
/// The most bytes one pool keeps.
const MAX_BYTES: usize = 64 << 20;

struct Pool<T> {
    // Oldest first; searched from the newest, whose memory is likeliest still in cache.
    free: Vec<Vec<T>>,
    bytes: usize,
}

impl<T> Pool<T> {
    const fn new() -> Self {
        Pool { free: Vec::new(), bytes: 0 }
    }

    fn take(&mut self, len: usize) -> Option<Vec<T>> {
        let index = self.free.iter().rposition(|b| b.capacity() == len)?;
        self.bytes -= len * size_of::<T>();
        Some(self.free.remove(index))
    }

    fn give(&mut self, mut buffer: Vec<T>) {
        let bytes = buffer.capacity() * size_of::<T>();
        if !(MIN_BYTES..=MAX_BYTES / 4).contains(&bytes) {
            return;
        }
        buffer.clear();
        while self.free.len() >= MAX_BUFFERS || self.bytes + bytes > MAX_BYTES {
            let oldest = self.free.remove(0);
            self.bytes -= oldest.capacity() * size_of::<T>();
        }
        self.bytes += bytes;
        self.free.push(buffer);
    }
}

thread_local! {
    static POOLS: RefCell<(Pool<f32>, Pool<f64>)> = const { RefCell::new((Pool::new(), Pool::new())) };
}

/// Run `f` on this thread's pool for `T`; `None` while the pool is busy or being torn down
/// (a tensor dropped during thread exit), when the caller falls back to the allocator.
fn with_pool<T: Element, R>(f: impl FnOnce(&mut Pool<T>) -> R) -> Option<R> {
    POOLS
        .try_with(|pools| {
            let mut pools = pools.try_borrow_mut().ok()?;
            let (f32s, f64s) = &mut *pools;
            // Element is sealed to f32 and f64: one of the two casts succeeds.
            let pool = (f32s as &mut dyn Any)
                .downcast_mut::<Pool<T>>()
                .or_else(|| (f64s as &mut dyn Any).downcast_mut::<Pool<T>>())?;
            Some(f(pool))
        })
        .ok()
        .flatten()
}

/// An empty buffer with room for exactly `len` elements: a pooled one when there is one.
pub(crate) fn take<T: Element>(len: usize) -> Vec<T> {
    if len * size_of::<T>() < MIN_BYTES {
        return Vec::with_capacity(len);
    }
    with_pool(|pool| pool.take(len)).flatten().unwrap_or_else(|| Vec::with_capacity(len))
}

/// `values` (exactly `len` of them) in a buffer from [`take`].
pub(crate) fn collect<T: Element>(len: usize, values: impl Iterator<Item = T>) -> Vec<T> {
    let mut buffer = take(len);
    buffer.extend(values);
    debug_assert_eq!(buffer.len(), len, "pool::collect: the iterator gave a different count");
    buffer
}

/// Keep `buffer` for a later [`take`] of its capacity (or free it, see the module's bounds).
pub(crate) fn give<T: Element>(buffer: Vec<T>) {
    if buffer.capacity() * size_of::<T>() >= MIN_BYTES {
        with_pool(|pool| pool.give(buffer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_buffer_is_reused_for_the_same_size_only() {
        let first: Vec<f32> = take(4096);
        let address = first.as_ptr();
        give(first);
        let other: Vec<f32> = take(4095);
        assert_ne!(other.as_ptr(), address, "a different size must not get the pooled buffer");
        let again: Vec<f32> = take(4096);
        assert_eq!(again.as_ptr(), address);
        assert!(again.is_empty() && again.capacity() == 4096);
        // The f64 pool is separate from the f32 one.
        give(again);
        let doubles: Vec<f64> = take(4096);
        assert_ne!(doubles.as_ptr().cast::<f32>(), address);
    }

    #[test]
    fn the_pool_stays_within_its_bounds() {
        for _ in 0..3 * MAX_BUFFERS {
            give(Vec::<f32>::with_capacity(1024));
        }
        give(Vec::<f32>::with_capacity(MAX_BYTES / 4 / 4));
        give(Vec::<f32>::with_capacity(MAX_BYTES / 4 / 4));
        give(Vec::<f32>::with_capacity(MAX_BYTES / 4 / 4 + 1));
        let (count, bytes) = with_pool(|p: &mut Pool<f32>| (p.free.len(), p.bytes)).unwrap();
        assert!(count <= MAX_BUFFERS, "{count} buffers kept");
        assert!(bytes <= MAX_BYTES, "{bytes} bytes kept");
        let kept: usize = with_pool(|p: &mut Pool<f32>| p.free.iter().map(|b| b.capacity() * 4).sum()).unwrap();
        assert_eq!(kept, bytes, "the byte count must match the buffers held");
    }

    #[test]
    fn tensors_give_their_buffers_back_when_their_last_reference_goes() {
        let t = crate::Tensor::<f32>::zeros([64, 64]);
        let address = t.data().as_ptr();
        let shared = t.reshape([4096]).unwrap();
        drop(t);
        // Still shared by the reshape: not pooled yet.
        let fresh: Vec<f32> = take(4096);
        assert_ne!(fresh.as_ptr(), address);
        drop(shared);
        let reused: Vec<f32> = take(4096);
        assert_eq!(reused.as_ptr(), address);
    }
}
