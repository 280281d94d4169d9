//! The functional API: an input, layer calls on symbolic outputs, merges (add, concatenate) and a
//! network from the input to an output, so branches and residual blocks can be written.
//!
//! ```
//! use strata::nn::{Activation, DenseConfig, GraphBuilder, Network};
//! let mut g = GraphBuilder::<f32>::new(0);
//! let x = g.input([4]).unwrap();
//! let h = g.call(DenseConfig::new(4).activation(Activation::Relu), &x).unwrap();
//! let h = g.call(DenseConfig::new(4), &h).unwrap();
//! let sum = g.add(&[&x, &h]).unwrap(); // a residual connection
//! let out = g.call(DenseConfig::new(1), &sum).unwrap();
//! let net = g.build(&x, &out).unwrap();
//! assert_eq!(net.count_params(), 20 + 20 + 5);
//! ```

use super::{Layer, LayerConfig, LayerNames, Mode, Network, Param, SummaryRow};
use crate::error::{Error, Result};
use crate::rng::{seeded_rng, Rng};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};
use std::sync::atomic::{AtomicU64, Ordering};

/// A symbolic tensor: the output of one node of a graph under construction, with its per-sample
/// shape. Only meaningful with the [`GraphBuilder`] that made it.
#[derive(Clone, Debug, PartialEq)]
pub struct Symbol {
    graph: u64,
    node: usize,
    shape: Shape,
}

impl Symbol {
    /// The per-sample shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }
}

enum Op<T: Element> {
    Input,
    Layer(Box<dyn Layer<T>>, usize),
    Add(Vec<usize>),
    Concatenate(Vec<usize>, usize),
}

struct Node<T: Element> {
    op: Op<T>,
    shape: Shape,
    name: String,
}

/// Records layer calls on [`Symbol`]s; [`GraphBuilder::build`] turns them into a [`Functional`].
pub struct GraphBuilder<T: Element = f32> {
    id: u64,
    nodes: Vec<Node<T>>,
    rng: Rng,
    names: LayerNames,
}

impl<T: Element> GraphBuilder<T> {
    /// An empty graph; `seed` draws every layer's initial weights.
    pub fn new(seed: u64) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        GraphBuilder {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            nodes: Vec::new(),
            rng: seeded_rng(seed),
            names: LayerNames::default(),
        }
    }

    fn push(&mut self, op: Op<T>, shape: Shape, name: String) -> Symbol {
        self.nodes.push(Node { op, shape: shape.clone(), name });
        Symbol { graph: self.id, node: self.nodes.len() - 1, shape }
    }

    fn check(&self, op: &str, s: &Symbol) -> Result<()> {
        if s.graph != self.id || s.node >= self.nodes.len() {
            return Err(Error::invalid(op, "this symbol belongs to another graph"));
        }
        Ok(())
    }

    /// The network's input, of per-sample shape `shape` (Keras's `Input(shape=...)`).
    ///
    /// # Errors
    /// When the graph already has an input (one input per network).
    pub fn input(&mut self, shape: impl Into<Shape>) -> Result<Symbol> {
        if self.nodes.iter().any(|n| matches!(n.op, Op::Input)) {
            return Err(Error::invalid(
                "GraphBuilder::input",
                "the graph already has an input (one input per network)",
            ));
        }
        Ok(self.push(Op::Input, shape.into(), "input".into()))
    }

    /// Apply a new layer, built from `config`, to `x`.
    ///
    /// # Errors
    /// When the config is invalid or does not fit `x`'s shape.
    pub fn call(&mut self, config: impl Into<LayerConfig>, x: &Symbol) -> Result<Symbol> {
        self.check("GraphBuilder::call", x)?;
        let config = config.into();
        let name = self.names.claim(config.requested_name(), config.stem())?;
        let layer = config.build::<T>(&x.shape, name.clone(), &mut self.rng)?;
        let out = layer.output_shape(&x.shape)?;
        if layer.output_masked(false)? {
            return Err(Error::invalid(
                format!("layer '{name}'"),
                "its step mask (mask_zero, masking) is not carried through graphs yet: use it in a layer stack",
            ));
        }
        Ok(self.push(Op::Layer(layer, x.node), out, name))
    }

    /// Elementwise sum of symbols of one shape (a residual connection).
    ///
    /// # Errors
    /// When fewer than two symbols are given or their shapes differ.
    pub fn add(&mut self, xs: &[&Symbol]) -> Result<Symbol> {
        let first = self.merge_inputs("add", xs)?;
        for x in &xs[1..] {
            if x.shape != first.shape {
                return Err(Error::mismatch("add", &first.shape, &x.shape, "merged shapes must be equal"));
            }
        }
        let name = self.names.claim(None, "add")?;
        Ok(self.push(Op::Add(xs.iter().map(|x| x.node).collect()), first.shape.clone(), name))
    }

    /// Join symbols along a per-sample `axis` (-1: the last).
    ///
    /// # Errors
    /// When fewer than two symbols are given, or shapes differ off the axis.
    pub fn concatenate(&mut self, xs: &[&Symbol], axis: isize) -> Result<Symbol> {
        let first = self.merge_inputs("concatenate", xs)?;
        let ax = first.shape.axis("concatenate", axis)?;
        let mut dims = first.shape.dims().to_vec();
        for x in &xs[1..] {
            let same = x.shape.rank() == first.shape.rank()
                && x.shape.dims().iter().zip(first.shape.dims()).enumerate().all(|(i, (a, b))| i == ax || a == b);
            if !same {
                return Err(Error::mismatch(
                    "concatenate",
                    &first.shape,
                    &x.shape,
                    format!("dimensions off axis {ax} must agree"),
                ));
            }
            dims[ax] += x.shape.dims()[ax];
        }
        let name = self.names.claim(None, "concatenate")?;
        Ok(self.push(Op::Concatenate(xs.iter().map(|x| x.node).collect(), ax), Shape::new(dims), name))
    }

    fn merge_inputs<'s>(&self, op: &str, xs: &[&'s Symbol]) -> Result<&'s Symbol> {
        if xs.len() < 2 {
            return Err(Error::invalid(op, format!("needs at least two inputs, got {}", xs.len())));
        }
        for x in xs {
            self.check(op, x)?;
        }
        Ok(xs[0])
    }

    /// The network from `input` to `output`. Nodes that `output` does not depend on are dropped.
    ///
    /// # Errors
    /// When `input` is not this graph's input or `output` does not depend on it.
    pub fn build(self, input: &Symbol, output: &Symbol) -> Result<Functional<T>> {
        self.check("GraphBuilder::build", input)?;
        self.check("GraphBuilder::build", output)?;
        if !matches!(self.nodes[input.node].op, Op::Input) {
            return Err(Error::invalid(
                "GraphBuilder::build",
                format!("'{}' is not the graph's input", self.nodes[input.node].name),
            ));
        }
        // Mark the ancestors of the output; nodes only ever refer to earlier nodes.
        let mut needed = vec![false; self.nodes.len()];
        needed[output.node] = true;
        for i in (0..self.nodes.len()).rev() {
            if needed[i] {
                for j in parents(&self.nodes[i].op) {
                    needed[j] = true;
                }
            }
        }
        if !needed[input.node] {
            return Err(Error::invalid("GraphBuilder::build", "the output does not depend on the input"));
        }
        let keep: Vec<usize> = (0..self.nodes.len()).filter(|&i| needed[i]).collect();
        let mut remap = vec![usize::MAX; self.nodes.len()];
        keep.iter().enumerate().for_each(|(new, &old)| remap[old] = new);
        let nodes = self
            .nodes
            .into_iter()
            .enumerate()
            .filter(|(i, _)| needed[*i])
            .map(|(_, mut n)| {
                n.op = match n.op {
                    Op::Input => Op::Input,
                    Op::Layer(l, i) => Op::Layer(l, remap[i]),
                    Op::Add(is) => Op::Add(is.iter().map(|&i| remap[i]).collect()),
                    Op::Concatenate(is, ax) => Op::Concatenate(is.iter().map(|&i| remap[i]).collect(), ax),
                };
                n
            })
            .collect();
        Ok(Functional { input_shape: input.shape.clone(), input: remap[input.node], nodes })
    }
}

fn parents<T: Element>(op: &Op<T>) -> Vec<usize> {
    match op {
        Op::Input => Vec::new(),
        Op::Layer(_, i) => vec![*i],
        Op::Add(is) | Op::Concatenate(is, _) => is.clone(),
    }
}

/// A network built with the functional API (see [`GraphBuilder`]); its output is the last node.
pub struct Functional<T: Element = f32> {
    input_shape: Shape,
    input: usize,
    nodes: Vec<Node<T>>,
}

impl<T: Element> Layer<T> for Functional<T> {
    fn forward(&self, x: &Tensor<T>, mode: Mode) -> Result<Tensor<T>> {
        if x.dims().get(1..) != Some(self.input_shape.dims()) {
            return Err(Error::mismatch(
                "Functional input",
                &self.input_shape,
                x.shape(),
                "the network's per-sample input shape vs the batch",
            ));
        }
        let mut values: Vec<Option<Tensor<T>>> = vec![None; self.nodes.len()];
        values[self.input] = Some(x.clone());
        let value = |values: &[Option<Tensor<T>>], i: usize| {
            values[i].clone().ok_or_else(|| Error::invalid("Functional", "a node was used before it was computed"))
        };
        for (i, node) in self.nodes.iter().enumerate() {
            let out = match &node.op {
                Op::Input => continue,
                Op::Layer(layer, j) => layer.forward(&value(&values, *j)?, mode)?,
                Op::Add(js) => {
                    let mut sum = value(&values, js[0])?;
                    for &j in &js[1..] {
                        sum = sum.add(&value(&values, j)?)?;
                    }
                    sum
                }
                Op::Concatenate(js, ax) => {
                    let parts = js.iter().map(|&j| value(&values, j)).collect::<Result<Vec<_>>>()?;
                    Tensor::concat(&parts.iter().collect::<Vec<_>>(), *ax as isize + 1)?
                }
            };
            values[i] = Some(out);
        }
        value(&values, self.nodes.len() - 1)
    }

    fn output_shape(&self, input: &Shape) -> Result<Shape> {
        if input != &self.input_shape {
            return Err(Error::mismatch("Functional", &self.input_shape, input, "per-sample input shapes differ"));
        }
        Ok(self.nodes.last().map_or_else(|| input.clone(), |n| n.shape.clone()))
    }

    fn params(&self) -> Vec<&Param<T>> {
        self.nodes.iter().flat_map(|n| if let Op::Layer(l, _) = &n.op { l.params() } else { Vec::new() }).collect()
    }

    fn kind(&self) -> &'static str {
        "Functional"
    }

    fn name(&self) -> &str {
        "functional"
    }

    fn penalty(&self) -> Result<Option<Tensor<T>>> {
        super::sum_penalties(self.nodes.iter().filter_map(|n| match &n.op {
            Op::Layer(layer, _) => Some(layer.penalty()),
            _ => None,
        }))
    }
}

impl<T: Element> Network<T> for Functional<T> {
    fn input_shape(&self) -> &Shape {
        &self.input_shape
    }

    fn each_layer(&self) -> Vec<&dyn Layer<T>> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.op {
                Op::Layer(l, _) => Some(l.as_ref()),
                _ => None,
            })
            .collect()
    }

    fn named_params(&self) -> Vec<(String, &Param<T>)> {
        self.nodes
            .iter()
            .flat_map(|n| match &n.op {
                Op::Layer(l, _) => super::named_layer_params(l.as_ref()),
                _ => Vec::new(),
            })
            .collect()
    }

    fn summary_rows(&self) -> Vec<SummaryRow> {
        self.nodes
            .iter()
            .map(|n| match &n.op {
                Op::Input => SummaryRow::input(&n.shape),
                Op::Layer(l, _) => SummaryRow::of(l.as_ref(), &n.shape),
                Op::Add(_) => {
                    SummaryRow { name: n.name.clone(), kind: "Add".into(), output_shape: n.shape.clone(), params: 0 }
                }
                Op::Concatenate(..) => SummaryRow {
                    name: n.name.clone(),
                    kind: "Concatenate".into(),
                    output_shape: n.shape.clone(),
                    params: 0,
                },
            })
            .collect()
    }
}
