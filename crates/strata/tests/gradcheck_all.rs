//! One table drives the f64 gradient check of every differentiable op: each case passes at
//! several shapes (scalar, batch 1, batch 33, broadcast) and 3 seeds; the table must name every
//! backward rule in `src/ops` (a new op without a case fails `the_table_covers_every_op`); and a
//! fault injected into each op's backward (scaled by 1.001, sign flipped, a term dropped,
//! operands swapped) is caught every time. Criterion: normwise relative error <= 1e-6 and every
//! element within 1e-5 + 1e-3 |numeric| (GradcheckConfig's defaults).

use std::sync::Mutex;
use strata::autograd::fault::{inject, Fault};
use strata::nn::Activation;
use strata::rng::seeded_rng;
use strata::{gradcheck, loss, GradcheckConfig, Result, Tensor};

type Op = fn(&[Tensor<f64>]) -> Result<Tensor<f64>>;

/// A case: the backward rule it exercises (None for composites), input shapes per variant,
/// the input range, and the function.
struct Case {
    op: Option<&'static str>,
    label: &'static str,
    shapes: &'static [&'static [&'static [usize]]],
    range: (f64, f64),
    f: Op,
}

const R: (f64, f64) = (-2.0, 2.0);
const POS: (f64, f64) = (0.3, 2.0);
const PROB: (f64, f64) = (0.05, 0.95);
const UNARY: &[&[&[usize]]] = &[&[&[]], &[&[1, 3]], &[&[33, 3]]];
const BINARY: &[&[&[usize]]] = &[
    &[&[33, 4], &[33, 4]],
    &[&[1, 4], &[1, 4]],
    &[&[33, 4], &[4]],
    &[&[3, 1], &[1, 4]],
    &[&[2, 3, 4], &[3, 1]],
    &[&[], &[5]],
];
const MATRIX: &[&[&[usize]]] = &[&[&[33, 4]], &[&[1, 4]], &[&[2, 3, 4]]];

macro_rules! case {
    ($op:expr, $label:expr, $shapes:expr, $range:expr, |$t:ident| $body:expr) => {
        Case { op: $op, label: $label, shapes: $shapes, range: $range, f: |$t: &[Tensor<f64>]| $body }
    };
}

fn labels(n: usize, classes: usize) -> Tensor<f64> {
    Tensor::from_vec((0..n).map(|i| ((i * 7 + 3) % classes) as f64).collect(), [n]).unwrap()
}

fn table() -> Vec<Case> {
    vec![
        // Elementwise (ops/unary.rs).
        case!(Some("neg"), "neg", UNARY, R, |t| t[0].neg()),
        case!(Some("add_scalar"), "add_scalar", UNARY, R, |t| t[0].add_scalar(0.7)),
        case!(Some("mul_scalar"), "mul_scalar", UNARY, R, |t| t[0].mul_scalar(-1.5)),
        case!(Some("square"), "square", UNARY, R, |t| t[0].square()),
        case!(Some("powf"), "powf", UNARY, POS, |t| t[0].powf(2.5)),
        case!(Some("sqrt"), "sqrt", UNARY, POS, |t| t[0].sqrt()),
        case!(Some("exp"), "exp", UNARY, R, |t| t[0].exp()),
        case!(Some("log"), "log", UNARY, POS, |t| t[0].log()),
        case!(Some("abs"), "abs", UNARY, R, |t| t[0].abs()),
        case!(Some("cos"), "cos", UNARY, R, |t| t[0].cos()),
        case!(Some("sin"), "sin", UNARY, R, |t| t[0].sin()),
        case!(Some("erf"), "erf", UNARY, R, |t| t[0].erf()),
        case!(Some("clamp"), "clamp", UNARY, R, |t| t[0].clamp(-1.0, 0.5)),
        case!(Some("sigmoid"), "sigmoid", UNARY, R, |t| t[0].sigmoid()),
        case!(Some("tanh"), "tanh", UNARY, R, |t| t[0].tanh()),
        case!(Some("relu"), "relu", UNARY, R, |t| t[0].relu()),
        case!(Some("leaky_relu"), "leaky_relu", UNARY, R, |t| t[0].leaky_relu(0.1)),
        case!(Some("elu"), "elu", UNARY, R, |t| t[0].elu(1.3)),
        case!(Some("softplus"), "softplus", UNARY, R, |t| t[0].softplus()),
        case!(Some("hard_tanh"), "hard_tanh", UNARY, R, |t| t[0].hard_tanh()),
        case!(Some("step"), "step", UNARY, R, |t| t[0].step()),
        // Broadcasting binary ops (ops/binary.rs).
        case!(Some("add"), "add", BINARY, R, |t| t[0].add(&t[1])),
        case!(Some("sub"), "sub", BINARY, R, |t| t[0].sub(&t[1])),
        case!(Some("mul"), "mul", BINARY, R, |t| t[0].mul(&t[1])),
        case!(Some("div"), "div", BINARY, POS, |t| t[0].div(&t[1])),
        case!(Some("pow"), "pow", BINARY, POS, |t| t[0].pow(&t[1])),
        case!(Some("maximum"), "maximum", BINARY, R, |t| t[0].maximum(&t[1])),
        case!(Some("minimum"), "minimum", BINARY, R, |t| t[0].minimum(&t[1])),
        // Reductions (ops/reduce.rs).
        case!(Some("sum"), "sum", MATRIX, R, |t| t[0].sum()),
        case!(Some("sum_axis"), "sum_axis", MATRIX, R, |t| t[0].sum_axis(-1, false)),
        case!(Some("sum_axis"), "sum_axis 0 keepdim", MATRIX, R, |t| t[0].sum_axis(0, true)),
        case!(Some("max_axis"), "max_axis", MATRIX, R, |t| t[0].max_axis(-1, false)),
        case!(Some("max_axis"), "max", MATRIX, R, |t| t[0].max()),
        case!(None, "mean", MATRIX, R, |t| t[0].mean()),
        case!(None, "mean_axis", MATRIX, R, |t| t[0].mean_axis(0, false)),
        case!(None, "sum_to", &[&[&[2, 3, 4]]], R, |t| t[0].sum_to(&[3, 1].into())),
        // Movement (ops/movement.rs).
        case!(Some("reshape"), "reshape", &[&[&[33, 4]], &[&[1, 4]]], R, |t| t[0].reshape([t[0].numel()])),
        case!(Some("permute"), "permute", &[&[&[2, 3, 4]], &[&[1, 3, 4]]], R, |t| t[0].permute(&[1, 2, 0])),
        case!(Some("permute"), "t", &[&[&[33, 4]], &[&[1, 4]]], R, |t| t[0].t()),
        case!(Some("narrow"), "narrow", &[&[&[5, 3, 4]], &[&[1, 3, 4]]], R, |t| t[0].narrow(1, 1, 2)),
        case!(Some("narrow"), "slice_batch", &[&[&[33, 4]]], R, |t| t[0].slice_batch(3, 9)),
        case!(Some("concat"), "concat", &[&[&[2, 3], &[2, 5]], &[&[1, 3], &[1, 1]]], R, |t| Tensor::concat(
            &[&t[0], &t[1]],
            1
        )),
        case!(Some("broadcast_to"), "broadcast_to", &[&[&[3, 1]], &[&[1]]], R, |t| t[0]
            .broadcast_to(&[2, 3, 4].into())),
        // Products (ops/matmul.rs, ops/linear.rs).
        case!(
            Some("matmul"),
            "matmul",
            &[&[&[33, 5], &[5, 4]], &[&[1, 5], &[5, 4]], &[&[2, 3, 5], &[2, 5, 4]]],
            R,
            |t| t[0].matmul(&t[1])
        ),
        case!(Some("matmul"), "matmul a·bᵀ", &[&[&[3, 5], &[4, 5]], &[&[2, 3, 5], &[2, 4, 5]]], R, |t| t[0]
            .matmul_t(false, &t[1], true)),
        case!(Some("matmul"), "matmul aᵀ·b", &[&[&[5, 3], &[5, 4]]], R, |t| t[0].matmul_t(true, &t[1], false)),
        case!(Some("matmul"), "matmul aᵀ·bᵀ", &[&[&[5, 3], &[4, 5]], &[&[2, 5, 3], &[2, 4, 5]]], R, |t| t[0]
            .matmul_t(true, &t[1], true)),
        case!(Some("linear"), "linear", &[&[&[33, 5], &[5, 4], &[4]], &[&[1, 5], &[5, 4], &[4]]], R, |t| t[0]
            .linear(&t[1], Some(&t[2]))),
        case!(Some("linear"), "linear without bias", &[&[&[3, 5], &[5, 4]]], R, |t| t[0].linear(&t[1], None)),
        case!(Some("linear_activation"), "linear + relu", &[&[&[33, 5], &[5, 4], &[4]]], R, |t| t[0]
            .linear_activation(&t[1], Some(&t[2]), Activation::Relu)),
        case!(Some("linear_activation"), "linear + sigmoid", &[&[&[7, 5], &[5, 4], &[4]]], R, |t| t[0]
            .linear_activation(&t[1], Some(&t[2]), Activation::Sigmoid)),
        case!(Some("linear_activation"), "linear + tanh", &[&[&[7, 5], &[5, 4]]], R, |t| t[0].linear_activation(
            &t[1],
            None,
            Activation::Tanh
        )),
        case!(None, "linear + elu (not fused)", &[&[&[7, 5], &[5, 4], &[4]]], R, |t| t[0].linear_activation(
            &t[1],
            Some(&t[2]),
            Activation::Elu(1.0)
        )),
        // Indexing (ops/index.rs).
        case!(Some("gather"), "gather", &[&[&[4, 3]]], R, |t| t[0].gather(&[2, 0, 1, 2])),
        case!(Some("index_select"), "index_select", &[&[&[5, 3]], &[&[5, 2, 2]]], R, |t| t[0]
            .index_select(&[4, 0, 4, 1])),
        // Composite activations (functional.rs).
        case!(Some("softmax"), "softmax", &[&[&[5]], &[&[1, 5]], &[&[33, 5]]], R, |t| t[0].softmax(-1)),
        case!(Some("softmax"), "softmax axis 0", &[&[&[4, 3]], &[&[2, 3, 4]]], R, |t| t[0].softmax(0)),
        case!(Some("softmax"), "softmax middle axis", &[&[&[2, 3, 4]]], R, |t| t[0].softmax(1)),
        case!(None, "log_softmax", &[&[&[5]], &[&[1, 5]], &[&[33, 5]]], R, |t| t[0].log_softmax(-1)),
        case!(None, "logsumexp", &[&[&[1, 5]], &[&[33, 5]]], R, |t| t[0].logsumexp(-1, false)),
        case!(None, "silu", UNARY, R, |t| t[0].silu()),
        case!(None, "selu", UNARY, R, |t| t[0].selu()),
        case!(None, "mish", UNARY, R, |t| t[0].mish()),
        case!(None, "gelu", UNARY, R, |t| t[0].gelu()),
        case!(None, "gelu_tanh", UNARY, R, |t| t[0].gelu_tanh()),
        case!(None, "where_mask", &[&[&[4, 3], &[4, 3]]], R, |t| Tensor::where_mask(
            &t[0].gt_scalar(0.0),
            &t[0],
            &t[1]
        )),
        case!(None, "x*x + x (shared input)", &[&[&[33, 2]]], R, |t| t[0].mul(&t[0])?.add(&t[0])),
        // Losses (loss.rs), against fixed targets; the prediction is the checked input.
        case!(None, "mse", &[&[&[33, 2]], &[&[1, 2]]], R, |t| loss::mse(
            &t[0],
            &t[0].mul_scalar(0.0)?.add_scalar(0.3)?
        )),
        case!(
            Some("mean_squared_difference"),
            "mean_squared_difference",
            &[&[&[33, 2], &[33, 2]], &[&[1, 3], &[1, 3]]],
            R,
            |t| t[0].mean_squared_difference(&t[1])
        ),
        case!(Some("clipped_cross_entropy"), "clipped_cross_entropy", &[&[&[33, 4]], &[&[1, 3]]], PROB, |t| t[0]
            .clipped_cross_entropy(
                &labels(t[0].dims()[0], t[0].dims()[1]).to_f64_vec().iter().map(|&l| l as usize).collect::<Vec<_>>(),
                1e-7
            )),
        case!(None, "mae", &[&[&[33, 2]], &[&[1, 2]]], R, |t| loss::mae(
            &t[0],
            &t[0].mul_scalar(0.0)?.add_scalar(0.3)?
        )),
        case!(None, "huber", &[&[&[33, 2]], &[&[1, 2]]], R, |t| loss::huber(
            &t[0],
            &t[0].mul_scalar(0.0)?.add_scalar(0.3)?,
            0.4
        )),
        case!(None, "binary_crossentropy", &[&[&[33, 2]], &[&[1, 2]]], PROB, |t| loss::binary_crossentropy(
            &t[0],
            &t[0].mul_scalar(0.0)?.add_scalar(1.0)?
        )),
        case!(None, "binary_crossentropy logits", &[&[&[33, 2]], &[&[1, 2]]], R, |t| {
            loss::binary_crossentropy_from_logits(&t[0], &t[0].gt_scalar(0.5))
        }),
        case!(None, "categorical_crossentropy", &[&[&[33, 4]], &[&[1, 4]]], R, |t| {
            let n = t[0].dims()[0];
            loss::categorical_crossentropy(
                &t[0].softmax(-1)?,
                &Tensor::one_hot(&(0..n).map(|i| i % 4).collect::<Vec<_>>(), 4)?,
            )
        }),
        case!(None, "categorical_crossentropy logits", &[&[&[33, 4]], &[&[1, 4]]], R, |t| {
            let n = t[0].dims()[0];
            loss::categorical_crossentropy_from_logits(
                &t[0],
                &Tensor::one_hot(&(0..n).map(|i| i % 4).collect::<Vec<_>>(), 4)?,
            )
        }),
        case!(None, "sparse_categorical_crossentropy", &[&[&[33, 4]], &[&[1, 4]]], R, |t| {
            loss::sparse_categorical_crossentropy(&t[0].softmax(-1)?, &labels(t[0].dims()[0], 4))
        }),
        case!(None, "sparse_categorical_crossentropy logits", &[&[&[33, 4]], &[&[1, 4]]], R, |t| {
            loss::sparse_categorical_crossentropy_from_logits(&t[0], &labels(t[0].dims()[0], 4))
        }),
        // Probabilities from a softmax, against a fixed distribution (the clip is inactive there).
        case!(None, "kl_divergence", &[&[&[33, 4]], &[&[1, 4]]], R, |t| {
            let target = t[0].mul_scalar(0.0)?.add(&Tensor::from_f64(&[0.1, 0.2, 0.3, 0.4], [4])?)?;
            loss::kl_divergence(&t[0].softmax(-1)?, &target)
        }),
        // Scores against -1/1 targets; margins near the kink are measure zero for random inputs.
        case!(None, "hinge", &[&[&[33, 2]], &[&[1, 2]]], R, |t| loss::hinge(
            &t[0],
            &t[0].gt_scalar(0.0).mul_scalar(2.0)?.add_scalar(-1.0)?.mul_scalar(-1.0)?
        )),
    ]
}

/// Fault injection is global: the tests that check gradients must not overlap with it.
static SERIAL: Mutex<()> = Mutex::new(());

fn inputs(shapes: &[&[usize]], range: (f64, f64), seed: u64) -> Vec<Tensor<f64>> {
    let mut rng = seeded_rng(1000 + seed);
    shapes.iter().map(|s| Tensor::rand_uniform(s.to_vec(), range.0, range.1, &mut rng).unwrap()).collect()
}

#[test]
fn every_case_passes_at_every_shape_and_seed() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for case in table() {
        for shapes in case.shapes {
            for seed in 0..3 {
                let config = GradcheckConfig { seed, ..GradcheckConfig::default() };
                let report = gradcheck(case.f, &inputs(shapes, case.range, seed), &config)
                    .unwrap_or_else(|e| panic!("{} {shapes:?}: {e}", case.label));
                assert!(report.passed, "{} {shapes:?} seed {seed}: {report}", case.label);
            }
        }
    }
}

/// Every backward rule in `src/ops` has a case: read the names from the sources themselves.
#[test]
fn the_table_covers_every_op() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // Structured ops: `fn name(&self) -> &'static str { "matmul" }`.
        for part in text.split("fn name(&self) -> &'static str {").skip(1) {
            if let Some(name) = part
                .split('"')
                .nth(1)
                .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            {
                names.push(name.to_string());
            }
        }
        // Elementwise ops come from the table in ops/unary.rs: `name(params) => f: ...` rows.
        for line in text.lines() {
            if let Some((head, _)) = line.trim().split_once("=> f:") {
                let name = head.split('(').next().unwrap_or("").trim();
                if !name.starts_with('$') {
                    names.push(name.to_string());
                }
            }
        }
    }
    let covered: Vec<&str> = table().iter().filter_map(|c| c.op).collect();
    names.sort();
    names.dedup();
    names.retain(|n| n != "name" && n != "bad_tanh");
    assert!(names.len() >= 35, "found only {names:?}");
    let missing: Vec<&String> = names.iter().filter(|n| !covered.contains(&n.as_str())).collect();
    assert!(missing.is_empty(), "ops without a gradient-check case: {missing:?}");
}

/// A corrupted backward is caught for every op it can corrupt.
#[test]
fn injected_faults_are_caught() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for case in table() {
        let Some(op) = case.op else { continue };
        // The step's derivative is 0 everywhere: every corruption of 0 is still 0.
        if op == "step" {
            continue;
        }
        for fault in [Fault::Scale, Fault::FlipSign, Fault::DropTerm, Fault::SwapOperands] {
            let arity = case.shapes[0].len();
            // Swapping needs two operands whose gradients differ: add's are both g.
            if fault == Fault::SwapOperands && (arity < 2 || op == "add") {
                continue;
            }
            // The largest variant: enough elements that some gradient is non-zero (clamp's is 0
            // outside its bounds).
            let shapes = case
                .shapes
                .iter()
                .max_by_key(|s| s.iter().map(|d| d.iter().product::<usize>()).sum::<usize>())
                .unwrap();
            inject(Some((op, fault)));
            let outcome = gradcheck(case.f, &inputs(shapes, case.range, 0), &GradcheckConfig::default());
            inject(None);
            let caught = match outcome {
                Ok(report) => !report.passed,
                Err(_) => true, // e.g. swapped gradients of different shapes
            };
            assert!(caught, "{} with {fault:?} injected into '{op}' passed the check", case.label);
        }
    }
}
