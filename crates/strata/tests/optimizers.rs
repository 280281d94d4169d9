//! Every optimizer against reference trajectories: 5 steps on L(w) = ½ Σ a w² − Σ b w, from
//! `scripts/reference/optimizers.py`, which implements each rule from PyTorch's documentation
//! independently of strata (numbers pasted below).

use strata::nn::Param;
use strata::optim::{
    Adadelta, Adagrad, Adam, AdamW, Adamax, Clip, Lion, Nadam, OptimizerConfig, RmsProp, Schedule, Sgd,
};
use strata::Tensor;

const A: [f64; 3] = [1.0, 3.0, 0.5];
const B: [f64; 3] = [0.5, -1.0, 2.0];
const W0: [f64; 3] = [1.0, -2.0, 0.3];

fn run(config: OptimizerConfig, clip: Option<Clip>, steps: usize) -> Vec<f64> {
    let mut opt = config.build::<f64>().unwrap();
    if let Some(c) = clip {
        opt = opt.with_clip(c);
    }
    let w = Param::new("w", Tensor::from_f64(&W0, [3]).unwrap(), true);
    let a = Tensor::from_f64(&A, [3]).unwrap();
    let b = Tensor::from_f64(&B, [3]).unwrap();
    for _ in 0..steps {
        let v = w.value();
        let loss = v
            .square()
            .unwrap()
            .mul(&a)
            .unwrap()
            .sum()
            .unwrap()
            .mul_scalar(0.5)
            .unwrap()
            .sub(&v.mul(&b).unwrap().sum().unwrap())
            .unwrap();
        let grads = loss.backward().unwrap();
        opt.step(&[&w], &grads).unwrap();
    }
    w.value().to_vec()
}

#[test]
fn optimizers_follow_the_published_rules() {
    let adam = |lr| Adam { learning_rate: lr, ..Adam::default() };
    let cases: Vec<(&str, OptimizerConfig, [f64; 3])> = vec![
        // scripts/reference/optimizers.py
        ("sgd", OptimizerConfig::Sgd(Sgd::new(0.1)), [0.795245, -0.6134499999999999, 1.13701053125]),
        (
            "sgd_momentum",
            OptimizerConfig::Sgd(Sgd { learning_rate: 0.1, momentum: 0.9, nesterov: false }),
            [0.48541999999999996, 0.9638000000000002, 2.4565230312499997],
        ),
        (
            "sgd_nesterov",
            OptimizerConfig::Sgd(Sgd { learning_rate: 0.1, momentum: 0.9, nesterov: true }),
            [0.44770915804999994, 0.24642039949999991, 2.8310134712571875],
        ),
        ("adam", OptimizerConfig::Adam(adam(0.1)), [0.5278145494131504, -1.5037682481904784, 0.7986123279396528]),
        (
            "adam_amsgrad",
            OptimizerConfig::Adam(Adam { amsgrad: true, beta_2: 0.5, ..adam(0.1) }),
            [0.5404605966323262, -1.4953491629388203, 0.804942556719702],
        ),
        (
            "adamw",
            OptimizerConfig::AdamW(AdamW { adam: adam(0.1), weight_decay: 0.004 }),
            [0.5264163942258486, -1.5002090954480356, 0.7976160722096222],
        ),
        (
            "nadam",
            OptimizerConfig::Nadam(Nadam { learning_rate: 0.1, ..Nadam::default() }),
            [0.6596391308146402, -1.611352329966991, 0.6979134000705591],
        ),
        (
            "rmsprop",
            OptimizerConfig::RmsProp(RmsProp { learning_rate: 0.1, ..RmsProp::default() }),
            [0.5021746437997674, -1.0763992753777452, 1.3080990332998916],
        ),
        (
            "rmsprop_centered_momentum",
            OptimizerConfig::RmsProp(RmsProp {
                learning_rate: 0.1,
                centered: true,
                momentum: 0.5,
                ..RmsProp::default()
            }),
            [0.5083085454645841, -0.44102854455415236, 2.157630397306818],
        ),
        (
            "adagrad",
            OptimizerConfig::Adagrad(Adagrad { learning_rate: 0.1, ..Adagrad::default() }),
            [0.7468782946738718, -1.6892115881579937, 0.6154175154368459],
        ),
        (
            "adadelta",
            OptimizerConfig::Adadelta(Adadelta { learning_rate: 1.0, ..Adadelta::default() }),
            [0.9928196428551822, -1.9928017597436165, 0.30720243605293257],
        ),
        (
            "adamax",
            OptimizerConfig::Adamax(Adamax { learning_rate: 0.1, ..Adamax::default() }),
            [0.6001837819335385, -1.5310123656919872, 0.7864006298410071],
        ),
        (
            "lion",
            OptimizerConfig::Lion(Lion { learning_rate: 0.4, beta_1: 0.5, beta_2: 0.9 }),
            [0.6, -1.1102230246251565e-16, 2.3],
        ),
    ];
    // The table covers every registered optimizer.
    for name in OptimizerConfig::NAMES {
        assert!(cases.iter().any(|(case, _, _)| case.starts_with(name)), "no trajectory for {name}");
    }
    for (name, config, want) in cases {
        let got = run(config, None, 5);
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{name}: got {got:?}, want {want:?}");
        }
    }
}

#[test]
fn clipping_limits_the_step() {
    // One SGD step with lr 1: the step is minus the (clipped) gradient g0 = a w0 - b = [0.5, -5, -1.85].
    let sgd = || OptimizerConfig::Sgd(Sgd::new(1.0));
    let step = |clip| {
        let w = run(sgd(), Some(clip), 1);
        W0.iter().zip(&w).map(|(a, b)| a - b).collect::<Vec<f64>>()
    };
    assert_eq!(step(Clip::Value(1.0)), vec![0.5, -1.0, -1.0]);
    let g_norm = (0.25f64 + 25.0 + 1.85 * 1.85).sqrt();
    for clip in [Clip::Norm(1.0), Clip::GlobalNorm(1.0)] {
        let s = step(clip);
        let norm = s.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - 1.0).abs() < 1e-12, "{clip:?}: {s:?}");
        assert!((s[1] - (-5.0 / g_norm)).abs() < 1e-12);
    }
}

#[test]
fn schedules_follow_their_formulas() {
    let step = Schedule::StepDecay { every: 10, factor: 0.5 };
    assert_eq!(step.at(0, 0.1), 0.1);
    assert_eq!(step.at(25, 0.1), 0.1 * 0.25);
    let exp = Schedule::ExponentialDecay { decay_steps: 100, rate: 0.96, staircase: false };
    assert!((exp.at(50, 1.0) - 0.96f64.sqrt()).abs() < 1e-15);
    let cos = Schedule::CosineDecay { decay_steps: 100, alpha: 0.1 };
    assert!((cos.at(0, 1.0) - 1.0).abs() < 1e-15);
    assert!((cos.at(50, 1.0) - 0.55).abs() < 1e-12);
    assert!((cos.at(500, 1.0) - 0.1).abs() < 1e-12);
}

#[test]
fn bad_hyper_parameters_are_named() {
    let err = OptimizerConfig::Adam(Adam { beta_1: 1.5, ..Adam::default() }).build::<f32>().err().unwrap().to_string();
    assert!(err.contains("beta_1") && err.contains("1.5"), "{err}");
    let err = OptimizerConfig::Sgd(Sgd::new(-0.1)).build::<f32>().err().unwrap().to_string();
    assert!(err.contains("learning_rate") && err.contains("-0.1"), "{err}");
    let err = OptimizerConfig::from_name("adamm").err().unwrap().to_string();
    assert!(err.contains("adamm") && err.contains("adam"), "{err}");
}

/// Checkpoints compare optimizer settings by their debug text: the registry keeps the text the
/// enum derived before it (AdamW was a struct variant), so older checkpoints still resume.
#[test]
fn optimizer_settings_text_is_unchanged() {
    let text = |name| format!("{:?}", OptimizerConfig::from_name(name).unwrap());
    assert_eq!(
        text("adamw"),
        "AdamW { adam: Adam { learning_rate: 0.001, beta_1: 0.9, beta_2: 0.999, epsilon: 1e-7, amsgrad: false }, weight_decay: 0.004 }"
    );
    assert_eq!(text("sgd"), "Sgd(Sgd { learning_rate: 0.01, momentum: 0.0, nesterov: false })");
}
