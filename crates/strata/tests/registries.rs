//! The registries: every layer kind through `nn::check_layer` (shapes, parameter count, f64
//! gradients of input and parameters, save/load, wrong shapes), and every registered name of
//! each table (layers, activations, losses, optimizers, spec callbacks, metrics) documented in
//! docs/spec.md.

use strata::nn::{
    check_layer, Activation, AveragePooling1DConfig, AveragePooling2DConfig, BatchNormalizationConfig, Conv1DConfig,
    Conv2DConfig, DenseConfig, DropConnectConfig, DropoutConfig, FlattenConfig, GlobalAveragePooling1DConfig,
    GlobalAveragePooling2DConfig, GlobalMaxPooling1DConfig, GlobalMaxPooling2DConfig, Initializer, LayerConfig,
    MaxPooling1DConfig, MaxPooling2DConfig, MaxoutConfig, Padding, Padding1D, ReshapeConfig, SpatialDropout1DConfig,
    SpatialDropout2DConfig,
};
use strata::nn::{
    BidirectionalConfig, EmbeddingConfig, GruConfig, LstmConfig, MaskingConfig, MergeMode, SimpleRnnConfig,
    TimeDistributedConfig,
};

#[test]
fn every_layer_kind_passes_check_layer() {
    let cases: Vec<(LayerConfig, Vec<usize>)> = vec![
        (DenseConfig::new(4).activation(Activation::Tanh).into(), vec![3]),
        (DenseConfig::new(3).use_bias(false).activation(Activation::Sigmoid).into(), vec![5]),
        (DenseConfig::new(2).kernel_initializer(Initializer::HeNormal).activation(Activation::Softmax).into(), vec![4]),
        (
            DenseConfig::new(2)
                .kernel_initializer(Initializer::Normal { mean: 0.1, std: 0.3 })
                .bias_initializer(Initializer::Constant(0.2))
                .into(),
            vec![3],
        ),
        (Activation::Gelu.into(), vec![6]),
        (FlattenConfig::default().into(), vec![2, 3]),
        (DropoutConfig::new(0.5).into(), vec![4]),
        (DropConnectConfig::new(DenseConfig::new(3).activation(Activation::Tanh), 0.5).into(), vec![4]),
        (MaxoutConfig::new(3, 4).into(), vec![5]),
        (ReshapeConfig::new([3, -1]).into(), vec![6]),
        (ReshapeConfig::new([2, 2, 2]).into(), vec![2, 4]),
        (Conv2DConfig::new(3, 3).activation(Activation::Tanh).into(), vec![5, 4, 2]),
        (Conv2DConfig::new(2, 2).padding(Padding::Same).strides(2, 1).into(), vec![5, 4, 2]),
        (Conv2DConfig::new(2, 2).dilation_rate(2, 1).use_bias(false).into(), vec![5, 4, 1]),
        (Conv2DConfig::new(4, 1).into(), vec![3, 3, 2]),
        (MaxPooling2DConfig::new(2).into(), vec![4, 5, 2]),
        (MaxPooling2DConfig::new(3).strides(2, 1).into(), vec![5, 4, 2]),
        (AveragePooling2DConfig::new(2).padding(Padding::Same).into(), vec![5, 3, 2]),
        (AveragePooling2DConfig::new(3).strides(1, 2).into(), vec![4, 5, 1]),
        (Conv1DConfig::new(3, 3).activation(Activation::Tanh).into(), vec![6, 2]),
        (Conv1DConfig::new(2, 2).padding(Padding1D::Causal).dilation_rate(2).into(), vec![5, 3]),
        (Conv1DConfig::new(2, 3).padding(Padding1D::Same).strides(2).use_bias(false).into(), vec![7, 2]),
        (MaxPooling1DConfig::new(3).strides(2).into(), vec![7, 2]),
        (AveragePooling1DConfig::new(2).padding(Padding::Same).into(), vec![5, 3]),
        (GlobalAveragePooling1DConfig::default().into(), vec![4, 3]),
        (GlobalAveragePooling2DConfig { keepdims: true, name: None }.into(), vec![3, 2, 4]),
        (GlobalMaxPooling1DConfig::default().into(), vec![5, 2]),
        (GlobalMaxPooling2DConfig::default().into(), vec![3, 3, 2]),
        (BatchNormalizationConfig::default().into(), vec![3, 2, 4]),
        (BatchNormalizationConfig::default().center_scale(false, true).epsilon(0.1).into(), vec![5]),
        (SpatialDropout1DConfig::new(0.3).into(), vec![4, 3]),
        (SpatialDropout2DConfig::new(0.5).into(), vec![3, 2, 4]),
        (EmbeddingConfig::new(7, 3).into(), vec![5]),
        (EmbeddingConfig::new(5, 2).mask_zero(true).into(), vec![4]),
        (MaskingConfig { mask_value: 0.0, name: None }.into(), vec![4, 3]),
        (SimpleRnnConfig::new(3).into(), vec![4, 2]),
        (SimpleRnnConfig::new(2).return_sequences(true).go_backwards(true).into(), vec![3, 3]),
        (LstmConfig::new(3).into(), vec![4, 2]),
        (LstmConfig::new(2).return_sequences(true).into(), vec![3, 3]),
        (GruConfig::new(3).into(), vec![4, 2]),
        (GruConfig::new(2).return_sequences(true).go_backwards(true).into(), vec![3, 3]),
        (BidirectionalConfig::new(LstmConfig::new(2)).into(), vec![4, 2]),
        (
            BidirectionalConfig {
                merge_mode: MergeMode::Sum,
                ..BidirectionalConfig::new(GruConfig::new(2).return_sequences(true))
            }
            .into(),
            vec![3, 2],
        ),
        (TimeDistributedConfig::new(DenseConfig::new(3).activation(Activation::Tanh)).into(), vec![4, 2]),
    ];
    let mut kinds: Vec<&str> = Vec::new();
    for (config, shape) in cases {
        kinds.push(config.stem());
        check_layer(config.clone(), &shape).unwrap_or_else(|e| panic!("{config:?} on {shape:?}: {e}"));
    }
    for kind in LayerConfig::TYPES {
        assert!(kinds.contains(kind), "layer kind {kind:?} has no check_layer case");
    }
}

#[test]
fn a_reshape_that_cannot_fit_is_refused_naming_the_layer() {
    let e = strata::nn::Sequential::<f32>::new([6], 0).add(ReshapeConfig::new([4, -1])).err().unwrap().to_string();
    assert!(e.contains("reshape") && e.contains("6 elements") && e.contains("[4, -1]"), "{e}");
    let e = strata::nn::Sequential::<f32>::new([6], 0).add(ReshapeConfig::new([-1, -1])).err().unwrap().to_string();
    assert!(e.contains("at most one -1"), "{e}");
}

/// The line of docs/spec.md that starts with `prefix`.
fn docs_line(prefix: &str) -> String {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/spec.md")).unwrap();
    docs.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("docs/spec.md has no {prefix:?} line"))
        .to_string()
}

/// Every name of a table appears, in backticks, on its docs/spec.md line.
fn assert_documented(prefix: &str, names: &[&str]) {
    let line = docs_line(prefix);
    for name in names {
        assert!(line.contains(&format!("`{name}`")), "docs/spec.md's {prefix:?} line lacks {name:?}");
    }
}

/// The registry is the one list of layer kinds: each must be documented in docs/spec.md.
#[test]
fn every_registered_layer_kind_is_documented() {
    for kind in LayerConfig::TYPES {
        docs_line(&format!("| `{kind}` |"));
    }
}

/// The activation table is the one list of names: each is documented in docs/spec.md, and each
/// passes check_layer as an Activation layer (SELU and Mish were added as one row each).
#[test]
fn every_activation_is_documented_and_checked() {
    assert_documented("Activations:", Activation::NAMES);
    for name in Activation::NAMES {
        let activation = Activation::from_name(name).unwrap();
        if *name != "step" {
            check_layer(activation, &[5]).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}

/// The loss table is the one list of loss names: each is documented in docs/spec.md.
#[test]
fn every_loss_is_documented() {
    assert_documented("| `loss` |", strata::loss::Loss::NAMES);
    for name in strata::loss::Loss::NAMES {
        let canonical = strata::loss::Loss::from_name(name).unwrap().name();
        assert!(strata::loss::Loss::NAMES.contains(&canonical), "{name} resolves to an unlisted {canonical}");
    }
}

/// The optimizer table is the one list of optimizer names: each is documented in docs/spec.md.
#[test]
fn every_optimizer_is_documented() {
    assert_documented("| `optimizer` |", strata::optim::OptimizerConfig::NAMES);
}

/// The callback table is the one list of callback types a spec can name: each is documented.
#[test]
fn every_spec_callback_is_documented() {
    assert_documented("| `callbacks` |", strata::spec::CallbackSpec::NAMES);
}

/// The metric table is the one list of metric names: each is documented in docs/spec.md.
#[test]
fn every_metric_is_documented() {
    assert_documented("| `metrics` |", strata::train::Metric::NAMES);
    for name in strata::train::Metric::NAMES {
        assert!(strata::train::Metric::from_name(name).is_ok(), "{name}");
    }
}

/// Reshape keeps each sample's elements in row-major order, as Keras's `Reshape` and PyTorch's
/// `x.reshape(n, 3, -1)` do: for x = arange(12).reshape(2, 6) in float64, torch gives
/// [[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [10, 11]]] (the same values in the same order).
#[test]
fn reshape_matches_pytorch_row_major_order() {
    use strata::nn::{Layer, Mode, Network, Sequential};
    let net = Sequential::<f64>::new([6], 0).add(ReshapeConfig::new([3, -1])).unwrap();
    let x = strata::Tensor::<f64>::from_f64(&(0..12).map(f64::from).collect::<Vec<_>>(), [2, 6]).unwrap();
    let y = net.forward(&x, Mode::Infer).unwrap();
    assert_eq!(y.dims(), &[2, 3, 2]);
    assert_eq!(y.to_vec(), (0..12).map(f64::from).collect::<Vec<_>>());
    assert_eq!(net.count_params(), 0, "Reshape has no weights (none in Keras either)");
}

/// The initializer and schedule tables are the one lists of their names: each is documented,
/// and each name reads back as a config whose canonical name is listed too.
#[test]
fn every_initializer_and_schedule_is_documented() {
    assert_documented("Initializers:", strata::nn::Initializer::NAMES);
    assert_documented("Schedules", strata::optim::Schedule::NAMES);
    for name in strata::nn::Initializer::NAMES {
        let init: strata::nn::Initializer = toml::Value::String(name.to_string()).try_into().unwrap();
        assert!(strata::nn::Initializer::NAMES.contains(&init.name()), "{name}");
    }
}
