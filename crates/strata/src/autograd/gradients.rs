//! The gradient store returned by `backward()`, and the no-gradient mode for inference.

use crate::error::Result;
use crate::tensor::{Element, IdMap, Tensor, TensorId};
use std::cell::Cell;

/// Gradients by tensor identity, as returned by [`Tensor::backward`].
pub struct Gradients<T: Element = f32> {
    map: IdMap<Tensor<T>>,
}

impl<T: Element> std::fmt::Debug for Gradients<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gradients({} tensors)", self.map.len())
    }
}

impl<T: Element> Default for Gradients<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Gradients<T> {
    /// An empty store with room for `n` gradients.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Gradients { map: IdMap::with_capacity_and_hasher(n, Default::default()) }
    }

    /// An empty store.
    pub fn new() -> Self {
        Gradients { map: IdMap::default() }
    }

    /// The gradient of `tensor`, if it received one.
    pub fn get(&self, tensor: &Tensor<T>) -> Option<&Tensor<T>> {
        self.map.get(&tensor.id())
    }

    /// The gradient under an identity.
    pub fn get_id(&self, id: TensorId) -> Option<&Tensor<T>> {
        self.map.get(&id)
    }

    /// Remove and return a gradient (lets the optimizer reuse its buffer).
    pub fn remove(&mut self, tensor: &Tensor<T>) -> Option<Tensor<T>> {
        self.map.remove(&tensor.id())
    }

    /// Add `grad` to the entry of `tensor` (gradients along several paths sum).
    pub fn accumulate(&mut self, tensor: &Tensor<T>, grad: Tensor<T>) -> Result<()> {
        let total = match self.map.remove(&tensor.id()) {
            Some(existing) => existing.add(&grad)?,
            None => grad,
        };
        self.map.insert(tensor.id(), total);
        Ok(())
    }

    /// Number of tensors with a gradient.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on this thread record the graph.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Restores the previous recording mode when dropped.
#[must_use = "recording resumes as soon as the guard is dropped"]
pub struct NoGradGuard {
    previous: bool,
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        GRAD_ENABLED.with(|g| g.set(self.previous));
    }
}

/// Stop recording the graph on this thread until the guard is dropped (inference, optimizer steps).
///
/// ```
/// use strata::{no_grad, Tensor};
/// let w = Tensor::<f32>::ones([2]).with_requires_grad(true);
/// let y = {
///     let _guard = no_grad();
///     w.mul(&w).unwrap()
/// };
/// assert!(!y.requires_grad());
/// ```
pub fn no_grad() -> NoGradGuard {
    let previous = GRAD_ENABLED.with(|g| g.replace(false));
    NoGradGuard { previous }
}
