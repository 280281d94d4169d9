//! `Tensor<T>`: an immutable n-dimensional array that remembers the op which made it.

mod display;
mod element;

pub use element::Element;

use crate::autograd::{self, Backward};
use crate::error::{Error, Result};
use crate::kernel::pool;
use crate::shape::Shape;
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Identity of a tensor, stable for its lifetime: the key of a [`crate::Gradients`] store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

/// Hashes a [`TensorId`] by one multiplication: ids are distinct counters, so SipHash's defence
/// against chosen keys buys nothing and costs a visible share of a small training step.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached if a key other than a TensorId is hashed.
        bytes.iter().for_each(|&b| self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map keyed by tensor identity.
pub(crate) type IdMap<V> = std::collections::HashMap<TensorId, V, std::hash::BuildHasherDefault<IdHasher>>;
/// A set of tensor identities.
pub(crate) type IdSet = std::collections::HashSet<TensorId, std::hash::BuildHasherDefault<IdHasher>>;

impl TensorId {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TensorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// An n-dimensional, row-major array of `f32` (the default) or `f64`.
///
/// Cloning is cheap (a reference count). A tensor made by a differentiable op while gradients are
/// recorded keeps its inputs and the op's backward rule; [`Tensor::backward`] walks that graph.
/// Reshapes and [`Tensor::detach`] share the element buffer instead of copying it.
pub struct Tensor<T: Element = f32>(Arc<Inner<T>>);

struct Inner<T: Element> {
    id: TensorId,
    shape: Shape,
    // NOTE: an `Arc` so reshape/detach share storage; the optimizer updates a parameter in place
    // when it holds the only reference (after backward has freed the graph).
    data: Arc<Vec<T>>,
    requires_grad: bool,
    // `Some` while the op that produced this tensor is recorded; taken (freed) by backward.
    node: Mutex<Option<autograd::Node<T>>>,
    recorded: bool,
}

impl<T: Element> Drop for Inner<T> {
    fn drop(&mut self) {
        // The last tensor viewing this buffer: the next op of its size reuses it.
        if let Some(buffer) = Arc::get_mut(&mut self.data) {
            pool::give(std::mem::take(buffer));
        }
    }
}

impl<T: Element> Clone for Tensor<T> {
    fn clone(&self) -> Self {
        Tensor(Arc::clone(&self.0))
    }
}

impl<T: Element> Tensor<T> {
    fn build(data: Arc<Vec<T>>, shape: Shape, requires_grad: bool, node: Option<autograd::Node<T>>) -> Self {
        debug_assert_eq!(data.len(), shape.numel(), "tensor data must fill its shape");
        let recorded = node.is_some();
        Tensor(Arc::new(Inner { id: TensorId::fresh(), shape, data, requires_grad, node: Mutex::new(node), recorded }))
    }

    /// A tensor from row-major data and a shape.
    ///
    /// # Errors
    /// When the data's length is not the shape's element count.
    pub fn from_vec(data: Vec<T>, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(Error::shape(
                "from_vec",
                &shape,
                format!("shape needs {} elements, got {}", shape.numel(), data.len()),
            ));
        }
        Ok(Self::build(Arc::new(data), shape, false, None))
    }

    /// A tensor from `f64` values (converted to `T`): handy for literals in tests and examples.
    pub fn from_f64(data: &[f64], shape: impl Into<Shape>) -> Result<Self> {
        Self::from_vec(data.iter().map(|&v| T::of(v)).collect(), shape)
    }

    /// A rank-0 tensor.
    pub fn scalar(value: T) -> Self {
        Self::build(Arc::new(vec![value]), Shape::scalar(), false, None)
    }

    /// A tensor filled with one value.
    pub fn full(shape: impl Into<Shape>, value: T) -> Self {
        let shape = shape.into();
        Self::build(Arc::new(vec![value; shape.numel()]), shape, false, None)
    }

    /// A tensor of zeros.
    pub fn zeros(shape: impl Into<Shape>) -> Self {
        Self::full(shape, T::zero())
    }

    /// A tensor of ones.
    pub fn ones(shape: impl Into<Shape>) -> Self {
        Self::full(shape, T::one())
    }

    /// Samples of N(mean, std^2) drawn from a seeded generator (see [`crate::rng`]).
    ///
    /// # Errors
    /// When `std` is negative or not finite.
    pub fn randn(shape: impl Into<Shape>, mean: f64, std: f64, rng: &mut impl Rng) -> Result<Self> {
        let shape = shape.into();
        // NOTE: rand_distr accepts a negative std (it mirrors the samples); a user who wrote one
        // made a mistake, so refuse it.
        if !std.is_finite() || std < 0.0 || !mean.is_finite() {
            return Err(Error::invalid(
                "randn",
                format!("need a finite mean and a finite std >= 0, got mean {mean}, std {std}"),
            ));
        }
        let normal = Normal::new(mean, std).map_err(|e| Error::invalid("randn", e.to_string()))?;
        let data = (0..shape.numel()).map(|_| T::of(normal.sample(rng))).collect();
        Self::from_vec(data, shape)
    }

    /// Samples of U(low, high) drawn from a seeded generator (see [`crate::rng`]).
    ///
    /// # Errors
    /// When `low >= high` or a bound is not finite.
    pub fn rand_uniform(shape: impl Into<Shape>, low: f64, high: f64, rng: &mut impl Rng) -> Result<Self> {
        let shape = shape.into();
        if !low.is_finite() || !high.is_finite() || low >= high {
            return Err(Error::invalid("rand_uniform", format!("need finite low < high, got low {low}, high {high}")));
        }
        let uniform = Uniform::new(low, high);
        let data = (0..shape.numel()).map(|_| T::of(uniform.sample(rng))).collect();
        Self::from_vec(data, shape)
    }

    /// The tensor's identity (the key of its gradient).
    pub fn id(&self) -> TensorId {
        self.0.id
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.0.shape
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        self.0.shape.dims()
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.0.shape.rank()
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.0.data.len()
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[T] {
        &self.0.data
    }

    /// A copy of the elements, row-major.
    pub fn to_vec(&self) -> Vec<T> {
        self.0.data.to_vec()
    }

    /// The elements widened to `f64`.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        self.0.data.iter().map(|v| v.f64()).collect()
    }

    /// The value of a one-element tensor.
    ///
    /// # Errors
    /// When the tensor does not hold exactly one element.
    pub fn item(&self) -> Result<T> {
        match self.data() {
            [v] => Ok(*v),
            _ => Err(Error::shape("item", self.shape(), "expected exactly one element")),
        }
    }

    /// Whether gradients flow to this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }

    /// Whether this tensor was made by a recorded op (rather than being a leaf).
    pub fn is_leaf(&self) -> bool {
        !self.0.recorded
    }

    /// A leaf tensor with the same data (shared, not copied) that does (or does not) collect a
    /// gradient. The result has a new identity.
    pub fn with_requires_grad(&self, requires_grad: bool) -> Self {
        Self::build(Arc::clone(&self.0.data), self.shape().clone(), requires_grad, None)
    }

    /// The same values cut from the graph: no gradient flows through the result.
    pub fn detach(&self) -> Self {
        self.with_requires_grad(false)
    }

    /// The same tensor converted to another element type (a new leaf).
    pub fn cast<U: Element>(&self) -> Tensor<U> {
        let data = self.data().iter().map(|v| U::of(v.f64())).collect();
        Tensor::build(Arc::new(data), self.shape().clone(), false, None)
    }

    /// Make an op's output, recording `backward` with its inputs when gradients are enabled and an
    /// input needs one. Every differentiable op ends here.
    pub(crate) fn from_op(
        data: Vec<T>,
        shape: Shape,
        inputs: &[&Tensor<T>],
        backward: impl Backward<T> + 'static,
    ) -> Self {
        Self::from_op_shared(Arc::new(data), shape, inputs, backward)
    }

    /// [`Tensor::from_op`] with a buffer that may be shared with an input (reshape).
    pub(crate) fn from_op_shared(
        data: Arc<Vec<T>>,
        shape: Shape,
        inputs: &[&Tensor<T>],
        backward: impl Backward<T> + 'static,
    ) -> Self {
        autograd::anomaly::check(backward.name(), &data, &shape);
        let record = autograd::is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
        let node = record.then(|| autograd::Node {
            inputs: inputs.iter().map(|t| (*t).clone()).collect(),
            backward: Box::new(backward),
        });
        Self::build(data, shape, record, node)
    }

    /// A tensor with no history from a buffer (results of non-differentiable ops).
    pub(crate) fn from_parts(data: Vec<T>, shape: Shape) -> Self {
        Self::build(Arc::new(data), shape, false, None)
    }

    pub(crate) fn shared_data(&self) -> &Arc<Vec<T>> {
        &self.0.data
    }

    pub(crate) fn node(&self) -> MutexGuard<'_, Option<autograd::Node<T>>> {
        // A poisoned lock means a backward rule panicked; the graph is still structurally valid.
        self.0.node.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Mutable access to the elements when nothing else shares them (the optimizer's fast path).
    pub(crate) fn data_mut(&mut self) -> Option<&mut Vec<T>> {
        Arc::get_mut(&mut self.0).and_then(|inner| Arc::get_mut(&mut inner.data))
    }

    /// Each element replaced by `f(index, value)`: in place when nothing else shares the buffer
    /// (no second copy of a large dataset), else into a new one. The result has no history.
    pub(crate) fn map_values(mut self, f: impl Fn(usize, T) -> T) -> Tensor<T> {
        if let Some(data) = self.data_mut() {
            data.iter_mut().enumerate().for_each(|(i, v)| *v = f(i, *v));
            return self;
        }
        let data = self.data().iter().enumerate().map(|(i, &v)| f(i, v)).collect();
        Tensor::from_parts(data, self.shape().clone())
    }

    /// A leaf with new data under the same identity: how a parameter changes between steps
    /// when its old buffer is still shared.
    pub(crate) fn replaced(&self, data: Vec<T>) -> Self {
        Tensor(Arc::new(Inner {
            id: self.0.id,
            shape: self.0.shape.clone(),
            data: Arc::new(data),
            requires_grad: self.0.requires_grad,
            node: Mutex::new(None),
            recorded: false,
        }))
    }
}
