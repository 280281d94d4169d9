//! f64 gradient checks of every non-elementwise op, composite activation and loss (elementwise
//! ops are checked from their table in `ops/unary.rs`): broadcasting, batch 1 and batch 33.

use strata::rng::seeded_rng;
use strata::{gradcheck, loss, GradcheckConfig, Result, Tensor};

type Op = fn(&[Tensor<f64>]) -> Result<Tensor<f64>>;
type BoxedOp = Box<dyn Fn(&[Tensor<f64>]) -> Result<Tensor<f64>>>;

/// Check `f` at inputs of the given shapes, drawn from U(lo, hi), for 3 seeds.
fn check_op(name: &str, shapes: &[&[usize]], range: (f64, f64), f: Op) {
    for seed in 0..3u64 {
        let mut rng = seeded_rng(100 + seed);
        let inputs: Vec<Tensor<f64>> =
            shapes.iter().map(|s| Tensor::rand_uniform(s.to_vec(), range.0, range.1, &mut rng).unwrap()).collect();
        let config = GradcheckConfig { seed, ..GradcheckConfig::default() };
        let report = gradcheck(f, &inputs, &config).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(report.passed, "{name} {shapes:?} seed {seed}: {report}");
    }
}

const SMOOTH: (f64, f64) = (-2.0, 2.0);
const POSITIVE: (f64, f64) = (0.5, 2.0);

#[test]
fn binary_ops_with_broadcasting() {
    let cases: &[(&str, Op, (f64, f64))] = &[
        ("add", |t| t[0].add(&t[1]), SMOOTH),
        ("sub", |t| t[0].sub(&t[1]), SMOOTH),
        ("mul", |t| t[0].mul(&t[1]), SMOOTH),
        ("div", |t| t[0].div(&t[1]), POSITIVE),
        ("pow", |t| t[0].pow(&t[1]), POSITIVE),
        ("maximum", |t| t[0].maximum(&t[1]), SMOOTH),
        ("minimum", |t| t[0].minimum(&t[1]), SMOOTH),
    ];
    let shape_pairs: &[(&[usize], &[usize])] = &[
        (&[33, 4], &[33, 4]),
        (&[1, 4], &[1, 4]),
        (&[33, 4], &[4]),
        (&[3, 1], &[1, 4]),
        (&[2, 3, 4], &[3, 1]),
        (&[], &[5]),
        (&[5], &[]),
    ];
    for &(name, f, range) in cases {
        for &(a, b) in shape_pairs {
            check_op(name, &[a, b], range, f);
        }
    }
}

#[test]
fn reductions() {
    for shape in [&[33, 4][..], &[1, 4], &[2, 3, 4]] {
        check_op("sum", &[shape], SMOOTH, |t| t[0].sum());
        check_op("mean", &[shape], SMOOTH, |t| t[0].mean());
        check_op("max", &[shape], SMOOTH, |t| t[0].max());
        check_op("sum_axis 0", &[shape], SMOOTH, |t| t[0].sum_axis(0, false));
        check_op("sum_axis -1 keepdim", &[shape], SMOOTH, |t| t[0].sum_axis(-1, true));
        check_op("mean_axis", &[shape], SMOOTH, |t| t[0].mean_axis(-1, false));
        check_op("max_axis", &[shape], SMOOTH, |t| t[0].max_axis(-1, false));
        check_op("max_axis 0", &[shape], SMOOTH, |t| t[0].max_axis(0, true));
    }
    check_op("sum_to", &[&[2, 3, 4]], SMOOTH, |t| t[0].sum_to(&[3, 1].into()));
}

#[test]
fn movement() {
    check_op("reshape", &[&[33, 4]], SMOOTH, |t| t[0].reshape([4, 33]));
    check_op("transpose", &[&[2, 3, 4]], SMOOTH, |t| t[0].transpose(0, 2));
    check_op("t", &[&[33, 4]], SMOOTH, |t| t[0].t());
    check_op("permute", &[&[2, 3, 4]], SMOOTH, |t| t[0].permute(&[1, 2, 0]));
    check_op("narrow", &[&[5, 3, 4]], SMOOTH, |t| t[0].narrow(1, 1, 2));
    check_op("slice_batch", &[&[33, 4]], SMOOTH, |t| t[0].slice_batch(3, 9));
    check_op("concat", &[&[2, 3], &[2, 5]], SMOOTH, |t| Tensor::concat(&[&t[0], &t[1]], 1));
    check_op("concat 0", &[&[1, 3], &[33, 3], &[2, 3]], SMOOTH, |t| Tensor::concat(&[&t[0], &t[1], &t[2]], 0));
    check_op("broadcast_to", &[&[3, 1]], SMOOTH, |t| t[0].broadcast_to(&[2, 3, 4].into()));
}

#[test]
fn matmul_plain_transposed_and_batched() {
    check_op("matmul", &[&[33, 5], &[5, 4]], SMOOTH, |t| t[0].matmul(&t[1]));
    check_op("matmul batch 1", &[&[1, 5], &[5, 4]], SMOOTH, |t| t[0].matmul(&t[1]));
    check_op("matmul a·bᵀ", &[&[3, 5], &[4, 5]], SMOOTH, |t| t[0].matmul_t(false, &t[1], true));
    check_op("matmul aᵀ·b", &[&[5, 3], &[5, 4]], SMOOTH, |t| t[0].matmul_t(true, &t[1], false));
    check_op("matmul aᵀ·bᵀ", &[&[5, 3], &[4, 5]], SMOOTH, |t| t[0].matmul_t(true, &t[1], true));
    check_op("batched matmul", &[&[2, 3, 5], &[2, 5, 4]], SMOOTH, |t| t[0].matmul(&t[1]));
    check_op("batched a·bᵀ", &[&[2, 3, 5], &[2, 4, 5]], SMOOTH, |t| t[0].matmul_t(false, &t[1], true));
    check_op("batched aᵀ·bᵀ", &[&[2, 5, 3], &[2, 4, 5]], SMOOTH, |t| t[0].matmul_t(true, &t[1], true));
    check_op("linear", &[&[33, 5], &[5, 4], &[4]], SMOOTH, |t| t[0].linear(&t[1], Some(&t[2])));
    check_op("linear batch 1", &[&[1, 5], &[5, 4], &[4]], SMOOTH, |t| t[0].linear(&t[1], Some(&t[2])));
    check_op("linear without bias", &[&[3, 5], &[5, 4]], SMOOTH, |t| t[0].linear(&t[1], None));
}

#[test]
fn indexing() {
    check_op("gather", &[&[4, 3]], SMOOTH, |t| t[0].gather(&[2, 0, 1, 2]));
    check_op("index_select", &[&[5, 3]], SMOOTH, |t| t[0].index_select(&[4, 0, 4, 1]));
}

#[test]
fn composite_activations() {
    for shape in [&[5][..], &[1, 5], &[33, 5]] {
        check_op("softmax", &[shape], SMOOTH, |t| t[0].softmax(-1));
        check_op("log_softmax", &[shape], SMOOTH, |t| t[0].log_softmax(-1));
        check_op("logsumexp", &[shape], SMOOTH, |t| t[0].logsumexp(-1, false));
        check_op("silu", &[shape], SMOOTH, |t| t[0].silu());
        check_op("gelu", &[shape], SMOOTH, |t| t[0].gelu());
        check_op("gelu_tanh", &[shape], SMOOTH, |t| t[0].gelu_tanh());
    }
    check_op("softmax axis 0", &[&[4, 3]], SMOOTH, |t| t[0].softmax(0));
    check_op("where_mask", &[&[4, 3], &[4, 3]], SMOOTH, |t| Tensor::where_mask(&t[0].gt_scalar(0.0), &t[0], &t[1]));
}

fn labels(n: usize, classes: usize) -> Tensor<f64> {
    Tensor::from_vec((0..n).map(|i| ((i * 7 + 3) % classes) as f64).collect(), [n]).unwrap()
}

fn binary_targets(n: usize) -> Tensor<f64> {
    Tensor::from_vec((0..n * 2).map(|i| ((i * 5) % 3 == 0) as u8 as f64).collect(), [n, 2]).unwrap()
}

fn one_hot(n: usize, classes: usize) -> Tensor<f64> {
    let l: Vec<usize> = labels(n, classes).data().iter().map(|&v| v as usize).collect();
    Tensor::one_hot(&l, classes).unwrap()
}

#[test]
fn losses() {
    for n in [1usize, 33] {
        let targets = Tensor::<f64>::rand_uniform([n, 2], -1.0, 1.0, &mut seeded_rng(n as u64)).unwrap();
        let t1 = targets.clone();
        let f = move |x: &[Tensor<f64>]| loss::mse(&x[0], &t1);
        assert!(
            gradcheck(f, &[targets.mul_scalar(0.5).unwrap().add_scalar(0.3).unwrap()], &GradcheckConfig::default())
                .unwrap()
                .passed
        );
        let t2 = targets.clone();
        let f = move |x: &[Tensor<f64>]| loss::mae(&x[0], &t2);
        assert!(
            gradcheck(f, &[targets.mul_scalar(0.5).unwrap().add_scalar(0.3).unwrap()], &GradcheckConfig::default())
                .unwrap()
                .passed
        );
        let t3 = targets.clone();
        let f = move |x: &[Tensor<f64>]| loss::huber(&x[0], &t3, 0.4);
        assert!(gradcheck(f, &[targets.mul_scalar(-0.5).unwrap()], &GradcheckConfig::default()).unwrap().passed);

        let (yb, yc, ys) = (binary_targets(n), one_hot(n, 4), labels(n, 4));
        let probs = Tensor::<f64>::rand_uniform([n, 2], 0.05, 0.95, &mut seeded_rng(7)).unwrap();
        let logits = Tensor::<f64>::rand_uniform([n, 4], -3.0, 3.0, &mut seeded_rng(8)).unwrap();
        let cases: Vec<(&str, BoxedOp, Tensor<f64>)> = vec![
            (
                "bce",
                Box::new({
                    let y = yb.clone();
                    move |x| loss::binary_crossentropy(&x[0], &y)
                }),
                probs.clone(),
            ),
            (
                "bce logits",
                Box::new({
                    let y = yb.clone();
                    move |x| loss::binary_crossentropy_from_logits(&x[0], &y)
                }),
                probs.mul_scalar(6.0).unwrap().add_scalar(-3.0).unwrap(),
            ),
            (
                "cce",
                Box::new({
                    let y = yc.clone();
                    move |x| loss::categorical_crossentropy(&x[0].softmax(-1)?, &y)
                }),
                logits.clone(),
            ),
            (
                "cce logits",
                Box::new({
                    let y = yc.clone();
                    move |x| loss::categorical_crossentropy_from_logits(&x[0], &y)
                }),
                logits.clone(),
            ),
            (
                "sparse cce",
                Box::new({
                    let y = ys.clone();
                    move |x| loss::sparse_categorical_crossentropy(&x[0].softmax(-1)?, &y)
                }),
                logits.clone(),
            ),
            (
                "sparse cce logits",
                Box::new({
                    let y = ys.clone();
                    move |x| loss::sparse_categorical_crossentropy_from_logits(&x[0], &y)
                }),
                logits.clone(),
            ),
        ];
        for (name, f, x) in cases {
            let report = gradcheck(f, &[x], &GradcheckConfig::default()).unwrap();
            assert!(report.passed, "{name} batch {n}: {report}");
        }
    }
}

/// Gradients reaching a tensor along several paths add up (x is used three times).
#[test]
fn shared_inputs_accumulate() {
    check_op("x*x + x", &[&[33, 2]], SMOOTH, |t| t[0].mul(&t[0])?.add(&t[0]));
    let x = Tensor::<f64>::from_f64(&[1.5], [1]).unwrap().with_requires_grad(true);
    let y = x.mul(&x).unwrap().add(&x).unwrap().sum().unwrap();
    let g = y.backward().unwrap();
    assert_eq!(g.get(&x).unwrap().to_vec(), vec![2.0 * 1.5 + 1.0]);
}
