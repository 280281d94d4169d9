//! A recurrent layer's whole sequence as one op: SimpleRNN, LSTM and GRU cells (Keras's
//! formulations and gate orders) run over every time step, forward and backward side by side.
//!
//! Forward: the input projection of every step is one product `x·W` over `[steps·batch, in]`;
//! inside the time loop only `h·U` (`[batch, units]·[units, gates·units]`, split over the two
//! cores when large) and one fused pass over the gates. Backward walks the steps in reverse
//! with the gate values forward saved, computing per step only `dz·Uᵀ` for the carried
//! gradient; the weight gradients `Xᵀ·dZ` and `Hᵀ·dZ` and the input gradient `dZ·Wᵀ` are three
//! large products after the loop.
//!
//! Internally everything is time-major (`[steps, batch, ...]`: each step's rows contiguous, so
//! every product reads plain matrices); the op's input and output are batch-major as Keras's.
//!
//! The output packs each step's states: `[batch, steps, units]` of `h` for SimpleRNN and GRU,
//! `[batch, steps, 2·units]` of `h` then `c` for LSTM. A layer takes what it returns with
//! `narrow` (the whole `h` sequence, the last step, the last `c`), whose backward hands this
//! op the gradient of every state it used.
//!
//! A mask (`[batch, steps]`, true for real steps) makes a masked step keep the previous state
//! (and output it again, as Keras does), so padding changes neither the state nor, through
//! it, the loss. `go_backwards` reads the steps last to first and outputs them in that order.

use crate::autograd::gradcheck::{op_check, OpCheck};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::kernel::matmul::{gemm_append, MatRef};
use crate::kernel::{activation, pool, threads};
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

/// An activation inside a recurrent cell: one whose derivative follows from its output, so
/// backward needs only what forward saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellActivation {
    /// Identity.
    Linear,
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// max(x, 0).
    Relu,
}

impl CellActivation {
    /// The derivative at the input whose output is `y`.
    #[inline(always)]
    fn df<T: Element>(self, y: T) -> T {
        match self {
            CellActivation::Linear => T::one(),
            CellActivation::Sigmoid => y * (T::one() - y),
            CellActivation::Tanh => T::one() - y * y,
            CellActivation::Relu => {
                if y > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
        }
    }
}

/// Which cell runs at each step, with its activations (Keras's `activation` for the candidate
/// and output, `recurrent_activation` for the gates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecurrentCell {
    /// `h = act(x·W + h·U + b)`.
    SimpleRnn {
        /// Keras's `activation` (default tanh).
        activation: CellActivation,
    },
    /// Gates i, f, c, o (Keras's order): `c = f·c + i·act(z_c)`, `h = o·act(c)`.
    Lstm {
        /// For the candidate and the cell output (default tanh).
        activation: CellActivation,
        /// For the gates (default sigmoid).
        recurrent_activation: CellActivation,
    },
    /// Gates z, r, h (Keras's order) with `reset_after` (Keras's default, PyTorch's form):
    /// `n = act(x·W_h + b_h + r·(h·U_h + b'_h))`, `h = z·h + (1 - z)·n`.
    Gru {
        /// For the candidate (default tanh).
        activation: CellActivation,
        /// For the gates (default sigmoid).
        recurrent_activation: CellActivation,
    },
}

impl RecurrentCell {
    /// Gates per unit: the width of the kernels is `gates·units`.
    pub fn gates(self) -> usize {
        match self {
            RecurrentCell::SimpleRnn { .. } => 1,
            RecurrentCell::Lstm { .. } => 4,
            RecurrentCell::Gru { .. } => 3,
        }
    }

    /// States per unit (LSTM carries `h` and `c`).
    pub fn states(self) -> usize {
        match self {
            RecurrentCell::Lstm { .. } => 2,
            _ => 1,
        }
    }

    /// Values per unit and step that backward reads besides the states.
    fn saved(self) -> usize {
        match self {
            RecurrentCell::SimpleRnn { .. } => 0,
            // i, f, g, o and act(c).
            RecurrentCell::Lstm { .. } => 5,
            // z, r, n and the recurrent projection of the candidate, h·U_h + b'_h.
            RecurrentCell::Gru { .. } => 4,
        }
    }

    fn name(self) -> &'static str {
        match self {
            RecurrentCell::SimpleRnn { .. } => "simple_rnn",
            RecurrentCell::Lstm { .. } => "lstm",
            RecurrentCell::Gru { .. } => "gru",
        }
    }
}

/// What a recurrent pass may be given besides its weights.
#[derive(Clone, Copy, Default)]
pub struct RecurrentOptions<'a, T> {
    /// `[batch, steps]`, true where the step is real; masked steps keep the previous state.
    pub mask: Option<&'a [bool]>,
    /// Read the steps last to first (the output is in that order too, as Keras's).
    pub go_backwards: bool,
    /// `[batch, units]` factors on `h` where it enters `h·U` (recurrent dropout: one mask for
    /// every step, as Keras draws it).
    pub recurrent_dropout: Option<&'a [T]>,
    /// Output only the last step's states, `[batch, 1, width]` (a layer without
    /// `return_sequences`): no copy of every step's.
    pub last_step_only: bool,
}

/// Sizes of one pass.
#[derive(Clone, Copy)]
struct Dims {
    batch: usize,
    steps: usize,
    inputs: usize,
    units: usize,
}

impl<T: Element> Tensor<T> {
    /// Run `cell` over a `[batch, steps, in]` sequence: kernel `[in, gates·units]`, recurrent
    /// kernel `[units, gates·units]`, bias `[gates·units]` (GRU: `[2, 3·units]`, input and
    /// recurrent biases) or none, and the initial states (`[batch, units]` each: `h`, and `c`
    /// for LSTM) or zeros. Returns every step's states packed as the module docs say.
    ///
    /// ```
    /// use strata::{CellActivation, RecurrentCell, RecurrentOptions};
    /// use strata::Tensor;
    /// let x = Tensor::<f64>::from_f64(&[1.0, 2.0], [1, 2, 1]).unwrap();
    /// let w = Tensor::from_f64(&[0.5], [1, 1]).unwrap();
    /// let u = Tensor::from_f64(&[1.0], [1, 1]).unwrap();
    /// let cell = RecurrentCell::SimpleRnn { activation: CellActivation::Linear };
    /// let h = x.recurrent(cell, &w, &u, None, &[], RecurrentOptions::default()).unwrap();
    /// assert_eq!(h.to_f64_vec(), vec![0.5, 1.5]); // h1 = 0.5·1, h2 = 0.5·2 + h1
    /// ```
    ///
    /// # Errors
    /// When a shape does not fit (the message names which), there are no steps, or the mask or
    /// dropout factors have the wrong length.
    pub fn recurrent(
        &self,
        cell: RecurrentCell,
        kernel: &Tensor<T>,
        recurrent_kernel: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        initial_states: &[&Tensor<T>],
        options: RecurrentOptions<'_, T>,
    ) -> Result<Tensor<T>> {
        let op = cell.name();
        let dims = check_shapes(op, cell, self, kernel, recurrent_kernel, bias, initial_states, &options)?;
        let mut inputs: Vec<&Tensor<T>> = vec![self, kernel, recurrent_kernel];
        inputs.extend(bias);
        inputs.extend(initial_states.iter().copied());
        // As `Tensor::from_op` decides: whether backward will ever run on this pass.
        let record = crate::autograd::is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
        let forward = run_forward(cell, dims, self, kernel, recurrent_kernel, bias, initial_states, &options, record);
        let Dims { batch, steps, units, .. } = dims;
        let width = cell.states() * units;
        // The packed batch-major output: y[b, s] = (h_{s+1}, c_{s+1}), every step or the last.
        let (first, out_steps) = if options.last_step_only { (steps - 1, 1) } else { (0, steps) };
        let mut y = zeroed(batch * out_steps * width);
        for s in first..steps {
            for b in 0..batch {
                let row = &mut y[(b * out_steps + s - first) * width..][..width];
                let at = ((s + 1) * batch + b) * units;
                row[..units].copy_from_slice(&forward.h[at..at + units]);
                if let Some(c) = &forward.c {
                    row[units..].copy_from_slice(&c[at..at + units]);
                }
            }
        }
        let node = RecurrentNode {
            cell,
            dims,
            has_bias: bias.is_some(),
            has_initial: !initial_states.is_empty(),
            go_backwards: options.go_backwards,
            last_step_only: options.last_step_only,
            mask: forward.mask,
            recurrent_dropout: options.recurrent_dropout.map(<[T]>::to_vec),
            h: forward.h,
            c: forward.c,
            saved: forward.saved,
        };
        Ok(Tensor::from_op(y, Shape::new([batch, out_steps, width]), &inputs, node))
    }
}

#[allow(clippy::too_many_arguments)]
fn check_shapes<T: Element>(
    op: &str,
    cell: RecurrentCell,
    x: &Tensor<T>,
    kernel: &Tensor<T>,
    recurrent_kernel: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    initial_states: &[&Tensor<T>],
    options: &RecurrentOptions<'_, T>,
) -> Result<Dims> {
    let &[batch, steps, inputs] = x.dims() else {
        return Err(Error::shape(op, x.shape(), "expects a sequence [batch, steps, features]"));
    };
    if steps == 0 {
        return Err(Error::shape(op, x.shape(), "the sequence has no steps"));
    }
    let (k_in, k_width) = kernel.shape().dims2(op)?;
    let gates = cell.gates();
    if k_in != inputs || k_width % gates != 0 || k_width == 0 {
        return Err(Error::mismatch(
            &format!("{op} kernel"),
            x.shape(),
            kernel.shape(),
            format!("the kernel must be [{inputs}, {gates}·units]"),
        ));
    }
    let units = k_width / gates;
    if recurrent_kernel.dims() != [units, k_width] {
        return Err(Error::mismatch(
            &format!("{op} recurrent kernel"),
            kernel.shape(),
            recurrent_kernel.shape(),
            format!("must be [{units}, {k_width}]"),
        ));
    }
    if let Some(b) = bias {
        let expected: Vec<usize> =
            if matches!(cell, RecurrentCell::Gru { .. }) { vec![2, k_width] } else { vec![k_width] };
        if b.dims() != expected.as_slice() {
            return Err(Error::mismatch(
                &format!("{op} bias"),
                kernel.shape(),
                b.shape(),
                format!("must be {}", Shape::new(expected)),
            ));
        }
    }
    if !initial_states.is_empty() && initial_states.len() != cell.states() {
        return Err(Error::invalid(
            op,
            format!("needs {} initial states, got {}", cell.states(), initial_states.len()),
        ));
    }
    for state in initial_states {
        if state.dims() != [batch, units] {
            return Err(Error::mismatch(
                &format!("{op} initial state"),
                x.shape(),
                state.shape(),
                format!("must be [{batch}, {units}]"),
            ));
        }
    }
    if let Some(mask) = options.mask.filter(|m| m.len() != batch * steps) {
        return Err(Error::invalid(op, format!("the mask has {} entries for {batch}x{steps} steps", mask.len())));
    }
    if let Some(factors) = options.recurrent_dropout.filter(|d| d.len() != batch * units) {
        return Err(Error::invalid(
            op,
            format!("recurrent dropout has {} factors for [{batch}, {units}]", factors.len()),
        ));
    }
    Ok(Dims { batch, steps, inputs, units })
}

/// What forward keeps for backward, time-major.
struct Forward<T> {
    /// `[steps + 1, batch, units]`: the initial state, then each step's.
    h: Vec<T>,
    /// The same for LSTM's cell state.
    c: Option<Vec<T>>,
    /// `[steps, batch, saved·units]` (see [`RecurrentCell::saved`]).
    saved: Vec<T>,
    /// `[steps, batch]` in processing order, when there is a mask.
    mask: Option<Vec<bool>>,
}

/// The input step read at processing step `s`.
fn input_step(s: usize, steps: usize, go_backwards: bool) -> usize {
    if go_backwards {
        steps - 1 - s
    } else {
        s
    }
}

/// The batch-major `[batch, steps, width]` buffer `x` as time-major `[steps, batch, width]` in
/// processing order.
fn time_major<T: Element>(x: &[T], dims: Dims, width: usize, go_backwards: bool) -> Vec<T> {
    let Dims { batch, steps, .. } = dims;
    let mut out = pool::take(x.len());
    for s in 0..steps {
        let t = input_step(s, steps, go_backwards);
        for b in 0..batch {
            out.extend_from_slice(&x[(b * steps + t) * width..][..width]);
        }
    }
    out
}

/// `len` zeros in a pooled buffer.
fn zeroed<T: Element>(len: usize) -> Vec<T> {
    pool::collect(len, std::iter::repeat_n(T::zero(), len))
}

/// `a·b` into a pooled buffer.
fn product<T: Element>(a: MatRef<'_, T>, b: MatRef<'_, T>, len: usize) -> Vec<T> {
    let mut out = pool::take(len);
    gemm_append(a, b, &mut out);
    out
}

#[allow(clippy::too_many_arguments)]
fn run_forward<T: Element>(
    cell: RecurrentCell,
    dims: Dims,
    x: &Tensor<T>,
    kernel: &Tensor<T>,
    recurrent_kernel: &Tensor<T>,
    bias: Option<&Tensor<T>>,
    initial_states: &[&Tensor<T>],
    options: &RecurrentOptions<'_, T>,
    keep_for_backward: bool,
) -> Forward<T> {
    let Dims { batch, steps, inputs, units } = dims;
    let gw = cell.gates() * units;
    let x_tm = time_major(x.data(), dims, inputs, options.go_backwards);
    let bias = bias.map(Tensor::data);
    let (input_bias, recurrent_bias) = match (cell, bias) {
        (RecurrentCell::Gru { .. }, Some(b)) => (Some(&b[..gw]), Some(&b[gw..])),
        (_, b) => (b, None),
    };
    let add_input_bias = |projected: &mut [T]| {
        if let Some(b) = input_bias {
            for row in projected.chunks_exact_mut(gw) {
                row.iter_mut().zip(b).for_each(|(v, &bv)| *v = *v + bv);
            }
        }
    };
    // Training: the input projection of every step at once, and every step's gates kept for
    // backward. Inference keeps neither: one step's projection and gates at a time (at batch
    // 1,000 the whole sequence's would be 130 MB, faulted in afresh for every batch).
    let whole = if keep_for_backward { steps } else { 1 };
    let w = MatRef::new(kernel.data(), inputs, gw, false);
    let mut projected = pool::take(whole * batch * gw);
    if keep_for_backward {
        gemm_append(MatRef::new(&x_tm, steps * batch, inputs, false), w, &mut projected);
        add_input_bias(&mut projected);
    }
    let mask = options.mask.map(|m| {
        (0..steps)
            .flat_map(|s| {
                let t = input_step(s, steps, options.go_backwards);
                (0..batch).map(move |b| m[b * steps + t])
            })
            .collect::<Vec<bool>>()
    });
    let state_len = (steps + 1) * batch * units;
    let initial = |i: usize| -> Vec<T> {
        let mut v = pool::take(state_len);
        match initial_states.get(i) {
            Some(s) => v.extend_from_slice(s.data()),
            None => v.resize(batch * units, T::zero()),
        }
        v.resize(state_len, T::zero());
        v
    };
    let mut h = initial(0);
    let mut c = matches!(cell, RecurrentCell::Lstm { .. }).then(|| initial(1));
    let saved_width = cell.saved() * units;
    let mut saved = zeroed(whole * batch * saved_width);
    let mut recurrent = pool::take(batch * gw);
    let mut dropped = options.recurrent_dropout.map(|_| vec![T::zero(); batch * units]);
    let u = MatRef::new(recurrent_kernel.data(), units, gw, false);
    for s in 0..steps {
        let (done, next) = h.split_at_mut((s + 1) * batch * units);
        let h_prev = &done[s * batch * units..];
        let h_next = &mut next[..batch * units];
        let h_in: &[T] = match (&mut dropped, options.recurrent_dropout) {
            (Some(buffer), Some(factors)) => {
                buffer.iter_mut().zip(h_prev).zip(factors).for_each(|((d, &hv), &f)| *d = hv * f);
                buffer
            }
            _ => h_prev,
        };
        recurrent.clear();
        gemm_append(MatRef::new(h_in, batch, units, false), u, &mut recurrent);
        let (c_prev, c_next) = match c.as_mut() {
            Some(c) => {
                let (done, next) = c.split_at_mut((s + 1) * batch * units);
                (Some(&done[s * batch * units..]), Some(&mut next[..batch * units]))
            }
            None => (None, None),
        };
        // The step's slot in the kept buffers (always the first when nothing is kept).
        let slot = if keep_for_backward { s } else { 0 };
        if !keep_for_backward {
            projected.clear();
            gemm_append(
                MatRef::new(&x_tm[s * batch * inputs..][..batch * inputs], batch, inputs, false),
                w,
                &mut projected,
            );
            add_input_bias(&mut projected);
        }
        let step = StepInputs {
            cell,
            units,
            z_in: &projected[slot * batch * gw..][..batch * gw],
            z_rec: &recurrent,
            recurrent_bias,
            h_prev,
            c_prev,
            mask: mask.as_ref().map(|m| &m[s * batch..][..batch]),
        };
        let rows = StepRows {
            first: 0,
            h_next,
            c_next,
            saved: &mut saved[slot * batch * saved_width..][..batch * saved_width],
            units,
            saved_width,
        };
        cell_forward(&step, rows);
    }
    pool::give(projected);
    pool::give(recurrent);
    pool::give(x_tm);
    Forward { h, c, saved, mask }
}

/// `x = act(x)` over a row (the fast vector forms of `kernel::activation` in f32).
fn activate<T: Element>(act: CellActivation, x: &mut [T]) {
    match act {
        CellActivation::Linear => {}
        CellActivation::Sigmoid => activation::sigmoid_in_place(x),
        CellActivation::Tanh => activation::tanh_in_place(x),
        CellActivation::Relu => x.iter_mut().for_each(|v| *v = v.max(T::zero())),
    }
}

/// `out = a + b` elementwise.
#[inline(always)]
fn sum_into<T: Element>(out: &mut [T], a: &[T], b: &[T]) {
    out.iter_mut().zip(a).zip(b).for_each(|((o, &x), &y)| *o = x + y);
}

/// One step's rows `first..` of the batch: the new states and what backward needs, each a
/// whole-row buffer so the two halves of a batch go to the two cores.
struct StepRows<'a, T> {
    first: usize,
    h_next: &'a mut [T],
    c_next: Option<&'a mut [T]>,
    saved: &'a mut [T],
    units: usize,
    saved_width: usize,
}

impl<T: Element> threads::Halves for StepRows<'_, T> {
    fn halves(self) -> (Self, Self) {
        let rows = self.h_next.len() / self.units;
        let mid = rows / 2;
        let (h1, h2) = self.h_next.split_at_mut(mid * self.units);
        let (s1, s2) = self.saved.split_at_mut(mid * self.saved_width);
        let (c1, c2) = match self.c_next {
            Some(c) => {
                let (a, b) = c.split_at_mut(mid * self.units);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let (units, saved_width) = (self.units, self.saved_width);
        (
            StepRows { first: self.first, h_next: h1, c_next: c1, saved: s1, units, saved_width },
            StepRows { first: self.first + mid, h_next: h2, c_next: c2, saved: s2, units, saved_width },
        )
    }
}

/// What every row of one step reads.
struct StepInputs<'a, T> {
    cell: RecurrentCell,
    units: usize,
    z_in: &'a [T],
    z_rec: &'a [T],
    recurrent_bias: Option<&'a [T]>,
    h_prev: &'a [T],
    c_prev: Option<&'a [T]>,
    mask: Option<&'a [bool]>,
}

/// From this many gate values per step, the cell pass runs on both cores (a split costs a
/// few microseconds; 64 rows of 128 LSTM units take about 20).
const CELL_SPLIT_MIN: usize = 1 << 14;

/// One step's gates for every row of the batch: pre-activations written where backward keeps
/// the gates, activated in place row by row, then combined into the new states.
fn cell_forward<T: Element>(step: &StepInputs<'_, T>, rows: StepRows<'_, T>) {
    let split = step.z_in.len() >= CELL_SPLIT_MIN;
    threads::split_in_two(rows, split, |part| crate::kernel::vectorized(|| cell_rows(step, part)));
}

#[inline(always)]
fn cell_rows<T: Element>(step: &StepInputs<'_, T>, rows: StepRows<'_, T>) {
    let u = step.units;
    let gw = step.cell.gates() * u;
    let StepRows { first, h_next, mut c_next, saved, saved_width, .. } = rows;
    for (k, hn) in h_next.chunks_exact_mut(u).enumerate() {
        let b = first + k;
        let hp = &step.h_prev[b * u..(b + 1) * u];
        if step.mask.is_some_and(|m| !m[b]) {
            hn.copy_from_slice(hp);
            if let (Some(cn), Some(cp)) = (c_next.as_deref_mut(), step.c_prev) {
                cn[k * u..(k + 1) * u].copy_from_slice(&cp[b * u..(b + 1) * u]);
            }
            continue;
        }
        let zi = &step.z_in[b * gw..(b + 1) * gw];
        let zr = &step.z_rec[b * gw..(b + 1) * gw];
        let sv = &mut saved[k * saved_width..(k + 1) * saved_width];
        match step.cell {
            RecurrentCell::SimpleRnn { activation } => {
                sum_into(hn, zi, zr);
                activate(activation, hn);
            }
            RecurrentCell::Lstm { activation, recurrent_activation: gate } => {
                // saved = [i, f, g, o, act(c)]: the pre-activations, activated in place.
                sum_into(&mut sv[..gw], zi, zr);
                activate(gate, &mut sv[..2 * u]);
                activate(activation, &mut sv[2 * u..3 * u]);
                activate(gate, &mut sv[3 * u..4 * u]);
                let cp = &step.c_prev.expect("an LSTM carries a cell state")[b * u..(b + 1) * u];
                let cn = &mut c_next.as_deref_mut().expect("an LSTM carries a cell state")[k * u..(k + 1) * u];
                let (gates, ac) = sv.split_at_mut(4 * u);
                let (i, rest) = gates.split_at(u);
                let (f, rest) = rest.split_at(u);
                let (g, o) = rest.split_at(u);
                for j in 0..u {
                    cn[j] = f[j] * cp[j] + i[j] * g[j];
                }
                ac.copy_from_slice(cn);
                activate(activation, ac);
                for j in 0..u {
                    hn[j] = o[j] * ac[j];
                }
            }
            RecurrentCell::Gru { activation, recurrent_activation: gate } => {
                // saved = [z, r, n, h·U_h + b'_h].
                let (zr_gates, rest) = sv.split_at_mut(2 * u);
                let (n, hh) = rest.split_at_mut(u);
                match step.recurrent_bias {
                    Some(rb) => {
                        for j in 0..2 * u {
                            zr_gates[j] = zi[j] + zr[j] + rb[j];
                        }
                        sum_into(hh, &zr[2 * u..], &rb[2 * u..]);
                    }
                    None => {
                        sum_into(zr_gates, &zi[..2 * u], &zr[..2 * u]);
                        hh.copy_from_slice(&zr[2 * u..]);
                    }
                }
                activate(gate, zr_gates);
                let (z, r) = zr_gates.split_at(u);
                for j in 0..u {
                    n[j] = zi[2 * u + j] + r[j] * hh[j];
                }
                activate(activation, n);
                for j in 0..u {
                    hn[j] = z[j] * hp[j] + (T::one() - z[j]) * n[j];
                }
            }
        }
    }
}

/// The node of a recurrent pass: the states and gate values of every step, time-major.
struct RecurrentNode<T: Element> {
    cell: RecurrentCell,
    dims: Dims,
    has_bias: bool,
    has_initial: bool,
    go_backwards: bool,
    last_step_only: bool,
    mask: Option<Vec<bool>>,
    recurrent_dropout: Option<Vec<T>>,
    h: Vec<T>,
    c: Option<Vec<T>>,
    saved: Vec<T>,
}

/// The states and gates go back to the pool when the graph is freed: the next batch's
/// forward reuses them instead of faulting in fresh pages (a batch of W7 saves 16 MB).
impl<T: Element> Drop for RecurrentNode<T> {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.h));
        pool::give(std::mem::take(&mut self.saved));
        if let Some(c) = self.c.take() {
            pool::give(c);
        }
    }
}

impl<T: Element> Backward<T> for RecurrentNode<T> {
    fn name(&self) -> &'static str {
        self.cell.name()
    }

    fn backward(&self, inputs: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let Dims { batch, steps, inputs: n_in, units } = self.dims;
        let cell = self.cell;
        let gw = cell.gates() * units;
        let sw = cell.saved() * units;
        let width = cell.states() * units;
        let (kernel, recurrent_kernel) = (&inputs[1], &inputs[2]);
        let g = g.data();
        let is_gru = matches!(cell, RecurrentCell::Gru { .. });
        // dZ for the input side; GRU's recurrent side differs in the candidate's third.
        let mut dz_in = zeroed(steps * batch * gw);
        let mut dz_rec = if is_gru { zeroed(steps * batch * gw) } else { Vec::new() };
        let mut dh = vec![T::zero(); batch * units];
        let mut dc = if self.c.is_some() { vec![T::zero(); batch * units] } else { Vec::new() };
        let mut carried = pool::take(batch * units);
        let ut = MatRef::new(recurrent_kernel.data(), gw, units, true);
        for s in (0..steps).rev() {
            // The gradient reaching this step's states from the output (the last step's alone
            // when that is all the output holds).
            let (out_steps, at) = match self.last_step_only {
                true if s + 1 < steps => (1, None),
                true => (1, Some(0)),
                false => (steps, Some(s)),
            };
            for b in (0..batch).filter(|_| at.is_some()) {
                let row = &g[(b * out_steps + at.unwrap_or(0)) * width..][..width];
                dh[b * units..(b + 1) * units].iter_mut().zip(&row[..units]).for_each(|(d, &v)| *d = *d + v);
                if !dc.is_empty() {
                    dc[b * units..(b + 1) * units].iter_mut().zip(&row[units..]).for_each(|(d, &v)| *d = *d + v);
                }
            }
            let step = StepBackward {
                units,
                h_prev: &self.h[s * batch * units..][..batch * units],
                h_next: &self.h[(s + 1) * batch * units..][..batch * units],
                c_prev: self.c.as_ref().map(|c| &c[s * batch * units..][..batch * units]),
                saved: &self.saved[s * batch * sw..][..batch * sw],
                mask: self.mask.as_ref().map(|m| &m[s * batch..][..batch]),
            };
            let rows = BackRows {
                first: 0,
                units,
                gate_width: gw,
                dh: &mut dh,
                dc: &mut dc,
                dz: &mut dz_in[s * batch * gw..][..batch * gw],
                dz_rec: if is_gru { Some(&mut dz_rec[s * batch * gw..][..batch * gw]) } else { None },
            };
            threads::split_in_two(rows, batch * gw >= CELL_SPLIT_MIN, |part| {
                crate::kernel::vectorized(|| step.run(cell, part))
            });
            // dh_{s-1} = direct part (in dh now) + (dZ_rec·Uᵀ)·dropout, for the real rows.
            let dz_r =
                if is_gru { &dz_rec[s * batch * gw..][..batch * gw] } else { &dz_in[s * batch * gw..][..batch * gw] };
            carried.clear();
            gemm_append(MatRef::new(dz_r, batch, gw, false), ut, &mut carried);
            for b in 0..batch {
                if step.mask.is_some_and(|m| !m[b]) {
                    continue;
                }
                let r = b * units..(b + 1) * units;
                match &self.recurrent_dropout {
                    Some(f) => dh[r.clone()]
                        .iter_mut()
                        .zip(&carried[r.clone()])
                        .zip(&f[r])
                        .for_each(|((d, &p), &fv)| *d = *d + p * fv),
                    None => dh[r.clone()].iter_mut().zip(&carried[r]).for_each(|(d, &p)| *d = *d + p),
                }
            }
        }
        pool::give(carried);
        let dz_r = if is_gru { &dz_rec } else { &dz_in };
        // dU = Σ_s h_{s-1}ᵀ·dZ_rec[s]: one product over every step (the h that entered h·U,
        // with its dropout factors).
        let h_in: std::borrow::Cow<'_, [T]> = match &self.recurrent_dropout {
            Some(f) => self.h[..steps * batch * units]
                .chunks_exact(batch * units)
                .flat_map(|step| step.iter().zip(f).map(|(&hv, &fv)| hv * fv))
                .collect(),
            None => std::borrow::Cow::Borrowed(&self.h[..steps * batch * units]),
        };
        let d_recurrent = product(
            MatRef::new(&h_in, units, steps * batch, true),
            MatRef::new(dz_r, steps * batch, gw, false),
            units * gw,
        );
        let x_tm = time_major(inputs[0].data(), self.dims, n_in, self.go_backwards);
        let d_kernel = product(
            MatRef::new(&x_tm, n_in, steps * batch, true),
            MatRef::new(&dz_in, steps * batch, gw, false),
            n_in * gw,
        );
        pool::give(x_tm);
        let dx_tm = product(
            MatRef::new(&dz_in, steps * batch, gw, false),
            MatRef::new(kernel.data(), gw, n_in, true),
            steps * batch * n_in,
        );
        let mut dx = zeroed(batch * steps * n_in);
        for s in 0..steps {
            let t = input_step(s, steps, self.go_backwards);
            for b in 0..batch {
                dx[(b * steps + t) * n_in..][..n_in].copy_from_slice(&dx_tm[(s * batch + b) * n_in..][..n_in]);
            }
        }
        pool::give(dx_tm);
        let mut grads = vec![
            Some(Tensor::from_parts(dx, inputs[0].shape().clone())),
            Some(Tensor::from_parts(d_kernel, kernel.shape().clone())),
            Some(Tensor::from_parts(d_recurrent, recurrent_kernel.shape().clone())),
        ];
        if self.has_bias {
            let column_sums = |dz: &[T]| {
                let mut sums = vec![T::zero(); gw];
                for row in dz.chunks_exact(gw) {
                    sums.iter_mut().zip(row).for_each(|(s, &v)| *s = *s + v);
                }
                sums
            };
            let mut db = column_sums(&dz_in);
            if is_gru {
                db.extend(column_sums(&dz_rec));
            }
            grads.push(Some(Tensor::from_parts(db, inputs[3].shape().clone())));
        }
        if self.has_initial {
            grads.push(Some(Tensor::from_parts(dh, Shape::new([batch, units]))));
            if self.c.is_some() {
                grads.push(Some(Tensor::from_parts(dc, Shape::new([batch, units]))));
            }
        }
        pool::give(dz_in);
        pool::give(dz_rec);
        Ok(grads)
    }
}

/// `$row(.., act', gate')` with the two activations' derivatives (as functions of their
/// outputs) as closures the row loop inlines: monomorphized for Keras's defaults (tanh,
/// sigmoid), so that loop vectorizes with no branch inside.
macro_rules! with_derivatives {
    ($activation:expr, $gate:expr, |$act:ident, $g:ident| $call:expr) => {
        match ($activation, $gate) {
            (CellActivation::Tanh, CellActivation::Sigmoid) => {
                let $act = |y: T| T::one() - y * y;
                let $g = |y: T| y * (T::one() - y);
                $call
            }
            (a, g) => {
                let $act = |y: T| a.df(y);
                let $g = |y: T| g.df(y);
                $call
            }
        }
    };
}

/// One LSTM row's backward: `sv = [i, f, g, o, act(c)]`; writes the four gates' `dz`, the
/// gradient reaching `c_{t-1}` into `dc`, and clears `dh` (its direct part is zero).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn lstm_back_row<T: Element>(
    u: usize,
    sv: &[T],
    cp: &[T],
    dh: &mut [T],
    dc: &mut [T],
    dz: &mut [T],
    act: impl Fn(T) -> T,
    gate: impl Fn(T) -> T,
) {
    let (i, rest) = sv[..5 * u].split_at(u);
    let (f, rest) = rest.split_at(u);
    let (g, rest) = rest.split_at(u);
    let (o, ac) = rest.split_at(u);
    let (di, rest) = dz[..4 * u].split_at_mut(u);
    let (df, rest) = rest.split_at_mut(u);
    let (dg, d_o) = rest.split_at_mut(u);
    let (cp, dh, dc) = (&cp[..u], &mut dh[..u], &mut dc[..u]);
    for j in 0..u {
        let dct = dc[j] + dh[j] * o[j] * act(ac[j]);
        di[j] = dct * g[j] * gate(i[j]);
        df[j] = dct * cp[j] * gate(f[j]);
        dg[j] = dct * i[j] * act(g[j]);
        d_o[j] = dh[j] * ac[j] * gate(o[j]);
        dc[j] = dct * f[j];
        dh[j] = T::zero();
    }
}

/// One GRU row's backward: `sv = [z, r, n, h·U_h + b'_h]`; writes the input-side and the
/// recurrent-side `dz` and leaves in `dh` the direct part `dh·z`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn gru_back_row<T: Element>(
    u: usize,
    sv: &[T],
    hp: &[T],
    dh: &mut [T],
    dz: &mut [T],
    dzr: &mut [T],
    act: impl Fn(T) -> T,
    gate: impl Fn(T) -> T,
) {
    let (z, rest) = sv[..4 * u].split_at(u);
    let (r, rest) = rest.split_at(u);
    let (n, hh) = rest.split_at(u);
    let (dz_z, rest) = dz[..3 * u].split_at_mut(u);
    let (dz_r, dz_n) = rest.split_at_mut(u);
    let (dr_z, rest) = dzr[..3 * u].split_at_mut(u);
    let (dr_r, dr_n) = rest.split_at_mut(u);
    let (hp, dh) = (&hp[..u], &mut dh[..u]);
    for j in 0..u {
        let d = dh[j];
        let daz = d * (hp[j] - n[j]) * gate(z[j]);
        let dan = d * (T::one() - z[j]) * act(n[j]);
        let dar = dan * hh[j] * gate(r[j]);
        dz_z[j] = daz;
        dz_r[j] = dar;
        dz_n[j] = dan;
        dr_z[j] = daz;
        dr_r[j] = dar;
        dr_n[j] = dan * r[j];
        dh[j] = d * z[j];
    }
}

/// Rows `first..` of one step's gradients, so the two halves of a batch go to the two cores.
struct BackRows<'a, T> {
    first: usize,
    units: usize,
    gate_width: usize,
    dh: &'a mut [T],
    /// Empty unless the cell carries `c`.
    dc: &'a mut [T],
    dz: &'a mut [T],
    dz_rec: Option<&'a mut [T]>,
}

impl<T: Element> threads::Halves for BackRows<'_, T> {
    fn halves(self) -> (Self, Self) {
        let (u, gw) = (self.units, self.gate_width);
        let mid = self.dh.len() / u / 2;
        let (dh1, dh2) = self.dh.split_at_mut(mid * u);
        let (dc1, dc2) = self.dc.split_at_mut((mid * u).min(self.dc.len()));
        let (dz1, dz2) = self.dz.split_at_mut(mid * gw);
        let (r1, r2) = match self.dz_rec {
            Some(d) => {
                let (a, b) = d.split_at_mut(mid * gw);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        (
            BackRows { first: self.first, units: u, gate_width: gw, dh: dh1, dc: dc1, dz: dz1, dz_rec: r1 },
            BackRows { first: self.first + mid, units: u, gate_width: gw, dh: dh2, dc: dc2, dz: dz2, dz_rec: r2 },
        )
    }
}

/// One step of backward: what forward saved for it.
struct StepBackward<'a, T> {
    units: usize,
    h_prev: &'a [T],
    h_next: &'a [T],
    c_prev: Option<&'a [T]>,
    saved: &'a [T],
    mask: Option<&'a [bool]>,
}

impl<T: Element> StepBackward<'_, T> {
    /// From the gradient of this step's states (`dh`, `dc`), the gates' pre-activation
    /// gradients (`dz`, and GRU's recurrent-side `dz_rec`), and in `dh`, `dc` the gradient
    /// reaching the previous states directly (not through `h·U`). Masked rows pass the
    /// gradient through unchanged and leave `dz` zero.
    #[inline(always)]
    fn run(&self, cell: RecurrentCell, rows: BackRows<'_, T>) {
        let units = self.units;
        let gw = cell.gates() * units;
        let sw = cell.saved() * units;
        let BackRows { first, dh, dc, dz, mut dz_rec, .. } = rows;
        for k in 0..dh.len() / units {
            let b = first + k;
            if self.mask.is_some_and(|m| !m[b]) {
                continue;
            }
            let r = b * units..(b + 1) * units;
            let dzb = &mut dz[k * gw..(k + 1) * gw];
            let sv = &self.saved[b * sw..(b + 1) * sw];
            let dhb = &mut dh[k * units..(k + 1) * units];
            match cell {
                RecurrentCell::SimpleRnn { activation } => {
                    let hn = &self.h_next[r];
                    for j in 0..units {
                        dzb[j] = dhb[j] * activation.df(hn[j]);
                        dhb[j] = T::zero();
                    }
                }
                RecurrentCell::Lstm { activation, recurrent_activation: gate } => {
                    let cp = &self.c_prev.expect("an LSTM saved its cell states")[r.clone()];
                    let dcb = &mut dc[k * units..(k + 1) * units];
                    with_derivatives!(activation, gate, |act, g| lstm_back_row(units, sv, cp, dhb, dcb, dzb, act, g));
                }
                RecurrentCell::Gru { activation, recurrent_activation: gate } => {
                    let hp = &self.h_prev[r];
                    let dzr =
                        &mut dz_rec.as_deref_mut().expect("a GRU has a recurrent-side gradient")[k * gw..(k + 1) * gw];
                    with_derivatives!(activation, gate, |act, g| gru_back_row(units, sv, hp, dhb, dzb, dzr, act, g));
                }
            }
        }
    }
}

/// The gradient-check cases of this file's op (`autograd::op_checks` gathers every file's):
/// every cell, with and without bias and initial states, masked, backwards, with recurrent
/// dropout factors, at batch 1 and 3.
pub(crate) fn checks() -> Vec<OpCheck> {
    use CellActivation::{Relu, Sigmoid, Tanh};
    const SIMPLE: &[&[&[usize]]] = &[&[&[3, 4, 2], &[2, 3], &[3, 3], &[3]], &[&[1, 2, 3], &[3, 2], &[2, 2], &[2]]];
    const LSTM: &[&[&[usize]]] = &[&[&[3, 4, 2], &[2, 12], &[3, 12], &[12]], &[&[1, 3, 1], &[1, 8], &[2, 8], &[8]]];
    const LSTM_STATES: &[&[&[usize]]] = &[&[&[2, 3, 2], &[2, 8], &[2, 8], &[8], &[2, 2], &[2, 2]]];
    const GRU: &[&[&[usize]]] = &[&[&[3, 4, 2], &[2, 9], &[3, 9], &[2, 9]], &[&[1, 2, 3], &[3, 6], &[2, 6], &[2, 6]]];
    const GRU_STATE: &[&[&[usize]]] = &[&[&[2, 3, 2], &[2, 6], &[2, 6], &[2, 6], &[2, 2]]];
    const NO_BIAS: &[&[&[usize]]] = &[&[&[2, 3, 2], &[2, 8], &[2, 8]]];
    // Batch 3 of 4 steps: lengths 4, 2 and 3 (padding at the end).
    const MASK: [bool; 12] = [true, true, true, true, true, true, false, false, true, true, true, false];
    const LSTM_CELL: RecurrentCell = RecurrentCell::Lstm { activation: Tanh, recurrent_activation: Sigmoid };
    const GRU_CELL: RecurrentCell = RecurrentCell::Gru { activation: Tanh, recurrent_activation: Sigmoid };
    fn run(
        t: &[Tensor<f64>],
        cell: RecurrentCell,
        bias: bool,
        states: usize,
        options: RecurrentOptions<'_, f64>,
    ) -> Result<Tensor<f64>> {
        let bias = bias.then(|| &t[3]);
        let first_state = if bias.is_some() { 4 } else { 3 };
        let initial: Vec<&Tensor<f64>> = t[first_state..first_state + states].iter().collect();
        t[0].recurrent(cell, &t[1], &t[2], bias, &initial, options)
    }
    vec![
        op_check!(Some("simple_rnn"), "simple_rnn tanh", SIMPLE, (-1.0, 1.0), |t| run(
            t,
            RecurrentCell::SimpleRnn { activation: Tanh },
            true,
            0,
            RecurrentOptions::default()
        )),
        op_check!(Some("simple_rnn"), "simple_rnn relu backwards", SIMPLE, (-1.0, 1.0), |t| run(
            t,
            RecurrentCell::SimpleRnn { activation: Relu },
            true,
            0,
            RecurrentOptions { go_backwards: true, ..Default::default() }
        )),
        op_check!(Some("lstm"), "lstm", LSTM, (-1.0, 1.0), |t| run(t, LSTM_CELL, true, 0, RecurrentOptions::default())),
        op_check!(Some("lstm"), "lstm masked (lengths 4, 2, 3)", &LSTM[..1], (-1.0, 1.0), |t| run(
            t,
            LSTM_CELL,
            true,
            0,
            RecurrentOptions { mask: Some(&MASK), ..Default::default() }
        )),
        op_check!(Some("lstm"), "lstm backwards from given states", LSTM_STATES, (-1.0, 1.0), |t| run(
            t,
            LSTM_CELL,
            true,
            2,
            RecurrentOptions { go_backwards: true, ..Default::default() }
        )),
        op_check!(Some("lstm"), "lstm without bias, recurrent dropout", NO_BIAS, (-1.0, 1.0), |t| run(
            t,
            LSTM_CELL,
            false,
            0,
            RecurrentOptions { recurrent_dropout: Some(&[2.0, 0.0, 0.0, 2.0]), ..Default::default() }
        )),
        op_check!(Some("lstm"), "lstm, the last step only, masked", &LSTM[..1], (-1.0, 1.0), |t| run(
            t,
            LSTM_CELL,
            true,
            0,
            RecurrentOptions { mask: Some(&MASK), last_step_only: true, ..Default::default() }
        )),
        op_check!(Some("gru"), "gru (reset_after)", GRU, (-1.0, 1.0), |t| run(
            t,
            GRU_CELL,
            true,
            0,
            RecurrentOptions::default()
        )),
        op_check!(Some("gru"), "gru masked backwards", &GRU[..1], (-1.0, 1.0), |t| run(
            t,
            GRU_CELL,
            true,
            0,
            RecurrentOptions { mask: Some(&MASK), go_backwards: true, ..Default::default() }
        )),
        op_check!(Some("gru"), "gru from a given state, recurrent dropout", GRU_STATE, (-1.0, 1.0), |t| run(
            t,
            GRU_CELL,
            true,
            1,
            RecurrentOptions { recurrent_dropout: Some(&[0.0, 2.0, 2.0, 2.0]), ..Default::default() }
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::seeded_rng;

    /// Without gradients the pass keeps one step's gates at a time: the outputs are a recorded
    /// pass's (the same bits at these sizes, where both take the same product kernel), for
    /// every cell, masked and backwards.
    #[test]
    fn an_unrecorded_pass_gives_the_recorded_outputs() {
        let mut rng = seeded_rng(3);
        let (b, t, i, u) = (5, 6, 3, 4);
        let x = Tensor::<f32>::rand_uniform([b, t, i], -1.0, 1.0, &mut rng).unwrap();
        let mask: Vec<bool> = (0..b * t).map(|k| k % t < 2 + k / t).collect();
        for cell in [
            RecurrentCell::SimpleRnn { activation: CellActivation::Tanh },
            RecurrentCell::Lstm { activation: CellActivation::Tanh, recurrent_activation: CellActivation::Sigmoid },
            RecurrentCell::Gru { activation: CellActivation::Tanh, recurrent_activation: CellActivation::Sigmoid },
        ] {
            let g = cell.gates() * u;
            let w = Tensor::<f32>::rand_uniform([i, g], -0.5, 0.5, &mut rng).unwrap();
            let r = Tensor::<f32>::rand_uniform([u, g], -0.5, 0.5, &mut rng).unwrap();
            let bias_shape = if matches!(cell, RecurrentCell::Gru { .. }) { vec![2, g] } else { vec![g] };
            let bias = Tensor::<f32>::rand_uniform(bias_shape, -0.5, 0.5, &mut rng).unwrap();
            for options in [
                RecurrentOptions::default(),
                RecurrentOptions { mask: Some(&mask), go_backwards: true, ..Default::default() },
            ] {
                let unrecorded = {
                    let _guard = crate::autograd::no_grad();
                    x.recurrent(cell, &w, &r, Some(&bias), &[], options).unwrap()
                };
                let recorded = x.recurrent(cell, &w.with_requires_grad(true), &r, Some(&bias), &[], options).unwrap();
                assert_eq!(unrecorded.to_vec(), recorded.to_vec(), "{cell:?}");
            }
        }
    }
}
