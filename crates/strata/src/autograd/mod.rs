//! Reverse-mode autodiff: recorded nodes, `backward()` (toposort, unbroadcast, accumulate).
//!
//! Each op records a [`Node`]: its inputs and a [`Backward`] rule defined next to the op's forward.
//! `backward()` visits the graph from the output in reverse topological order, asks each rule for
//! its inputs' gradients, sums each to its input's shape (undoing broadcasting, once, here) and
//! adds it to that input's entry: a value reached along several paths gets the sum over paths.

pub mod anomaly;
pub mod fault;
pub(crate) mod gradcheck;
mod gradients;

pub(crate) use gradcheck::{dot, ReportBuilder};
pub use gradcheck::{gradcheck, op_checks, GradcheckConfig, GradcheckReport, OpCheck};
pub use gradients::{is_grad_enabled, no_grad, Gradients, NoGradGuard};

use crate::error::{Error, Result};
use crate::tensor::{Element, IdSet, Tensor};

/// The derivative of one op: given the upstream gradient, the gradients of its inputs.
pub(crate) trait Backward<T: Element>: Send + Sync {
    /// The op's name, for errors.
    fn name(&self) -> &'static str;
    /// Gradient of each input (None: not differentiable there), in the output's shape or the
    /// input's (the engine sums broadcast axes away).
    fn backward(&self, inputs: &[Tensor<T>], output: &Tensor<T>, grad: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>>;
}

/// What a recorded op leaves on its output.
pub(crate) struct Node<T: Element> {
    pub(crate) inputs: Vec<Tensor<T>>,
    pub(crate) backward: Box<dyn Backward<T>>,
}

impl<T: Element> Tensor<T> {
    /// Gradients of this scalar with respect to every tensor in its graph that requires one.
    ///
    /// The graph is freed as it is walked (like PyTorch without `retain_graph`): a second call
    /// on the same graph is an error.
    ///
    /// # Errors
    /// When this tensor is not a scalar (one element), or a backward rule fails.
    pub fn backward(&self) -> Result<Gradients<T>> {
        if self.numel() != 1 {
            return Err(Error::Autograd(format!(
                "backward() needs a scalar, got shape {} (reduce it first, e.g. with mean())",
                self.shape()
            )));
        }
        self.backward_with(Tensor::ones(self.shape().clone()))
    }

    /// Backward from a non-scalar with an explicit upstream gradient of this tensor's shape.
    ///
    /// # Errors
    /// When `grad`'s shape differs from this tensor's, or a backward rule fails.
    pub fn backward_with(&self, grad: Tensor<T>) -> Result<Gradients<T>> {
        if grad.shape() != self.shape() {
            return Err(Error::mismatch(
                "backward",
                self.shape(),
                grad.shape(),
                "the seed gradient must match the output",
            ));
        }
        let order = topological_order(self)?;
        let _no_grad = no_grad();
        // Sized for every tensor of the graph: the map never rehashes during the walk.
        let mut grads = Gradients::with_capacity(2 * order.len());
        grads.accumulate(self, grad)?;
        // Reverse topological order: every consumer of a tensor runs before the tensor itself.
        for tensor in order.into_iter().rev() {
            let Some(grad) = grads.get(&tensor).cloned() else {
                continue;
            };
            let Some(node) = tensor.node().take() else {
                continue;
            };
            let mut input_grads = node.backward.backward(&node.inputs, &tensor, &grad)?;
            fault::apply(node.backward.name(), &mut input_grads)?;
            if input_grads.len() != node.inputs.len() {
                return Err(Error::Autograd(format!(
                    "{}: backward returned {} gradients for {} inputs",
                    node.backward.name(),
                    input_grads.len(),
                    node.inputs.len()
                )));
            }
            for (input, g) in node.inputs.iter().zip(input_grads) {
                let Some(g) = g else { continue };
                if !input.requires_grad() {
                    continue;
                }
                let g = if g.shape() == input.shape() { g } else { g.sum_to(input.shape())? };
                grads.accumulate(input, g)?;
            }
        }
        Ok(grads)
    }
}

/// Every recorded tensor reachable from `root`, inputs before outputs (iterative DFS: deep graphs
/// such as unrolled RNNs must not overflow the stack).
fn topological_order<T: Element>(root: &Tensor<T>) -> Result<Vec<Tensor<T>>> {
    // Sized for a typical training step's graph, so the walk does not regrow them.
    let mut order = Vec::with_capacity(64);
    let mut seen = IdSet::with_capacity_and_hasher(64, Default::default());
    let mut stack = Vec::with_capacity(64);
    stack.push((root.clone(), false));
    while let Some((tensor, children_done)) = stack.pop() {
        if children_done {
            order.push(tensor);
            continue;
        }
        if !tensor.requires_grad() || !seen.insert(tensor.id()) {
            continue;
        }
        let inputs: Vec<Tensor<T>> = match tensor.node().as_ref() {
            Some(node) => node.inputs.clone(),
            None if !tensor.is_leaf() => {
                return Err(Error::Autograd(
                    "this graph was already freed by an earlier backward(); run the forward pass again".into(),
                ))
            }
            None => Vec::new(),
        };
        stack.push((tensor, true));
        stack.extend(inputs.into_iter().map(|t| (t, false)));
    }
    Ok(order)
}
