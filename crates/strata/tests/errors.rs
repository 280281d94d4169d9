//! Bad input is an error value whose message names the op and the shapes or values; no panic.

use strata::{loss, Tensor};

fn zeros(shape: &[usize]) -> Tensor<f32> {
    Tensor::zeros(shape.to_vec())
}

fn message<T: std::fmt::Debug>(result: strata::Result<T>) -> String {
    result.expect_err("expected an error").to_string()
}

fn assert_mentions(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} does not mention {p:?}");
    }
}

#[test]
fn matmul_shape_mismatch_names_op_and_shapes() {
    let msg = message(zeros(&[3, 4]).matmul(&zeros(&[5, 2])));
    assert_eq!(msg, "matmul: shape mismatch, [3, 4] vs [5, 2] (inner dimensions 4 and 5 differ)");
    assert_mentions(
        &message(zeros(&[3, 4, 2]).matmul(&zeros(&[4, 2, 2]))),
        &["matmul", "[3, 4, 2]", "[4, 2, 2]", "batch"],
    );
    assert_mentions(&message(zeros(&[3]).matmul(&zeros(&[3, 2]))), &["matmul", "[3]", "[3, 2]"]);
    assert_mentions(&message(zeros(&[3, 4]).linear(&zeros(&[5, 2]), None)), &["linear", "[3, 4]", "[5, 2]"]);
    assert_mentions(
        &message(zeros(&[3, 4]).linear(&zeros(&[4, 2]), Some(&zeros(&[3])))),
        &["linear", "bias must be [2]", "[3]"],
    );
}

#[test]
fn broadcast_mismatch_names_op_and_shapes() {
    let msg = message(zeros(&[3]).add(&zeros(&[4])));
    assert_mentions(&msg, &["add", "[3]", "[4]", "broadcast"]);
    assert_mentions(&message(zeros(&[2, 3]).mul(&zeros(&[2]))), &["mul", "[2, 3]", "[2]"]);
    assert_mentions(&message(zeros(&[2, 3]).gt(&zeros(&[4]))), &["gt", "[2, 3]", "[4]"]);
}

#[test]
fn other_shape_errors() {
    assert_mentions(&message(zeros(&[2, 3]).reshape([4, 2])), &["reshape", "[2, 3]", "[4, 2]"]);
    assert_mentions(&message(Tensor::<f32>::from_vec(vec![1.0; 5], [2, 3])), &["from_vec", "[2, 3]", "5"]);
    assert_mentions(&message(zeros(&[2, 3]).sum_axis(2, false)), &["sum_axis", "axis 2", "[2, 3]"]);
    assert_mentions(&message(zeros(&[2, 3]).narrow(1, 2, 2)), &["narrow", "2..4", "[2, 3]"]);
    assert_mentions(&message(zeros(&[2, 3]).permute(&[0, 0])), &["permute", "[0, 0]"]);
    assert_mentions(&message(Tensor::concat(&[&zeros(&[2, 3]), &zeros(&[3, 2])], 0)), &["concat", "[2, 3]", "[3, 2]"]);
    assert_mentions(&message(zeros(&[2, 3]).gather(&[0, 3])), &["gather", "index 3", "0..3"]);
    assert_mentions(
        &message(zeros(&[2, 3]).max_axis(0, false).and_then(|_| zeros(&[0, 3]).max_axis(0, false))),
        &["max_axis", "empty"],
    );
    assert_mentions(&message(zeros(&[2, 3]).item()), &["item", "[2, 3]"]);
    assert_mentions(&message(Tensor::<f32>::one_hot(&[0, 5], 3)), &["one_hot", "5"]);
}

#[test]
fn loss_errors_name_the_loss_and_the_problem() {
    assert_mentions(&message(loss::mse(&zeros(&[4, 2]), &zeros(&[4, 3]))), &["mse", "[4, 2]", "[4, 3]"]);
    let labels = Tensor::<f32>::from_f64(&[0.0, 7.0], [2]).unwrap();
    assert_mentions(
        &message(loss::sparse_categorical_crossentropy(&zeros(&[2, 3]), &labels)),
        &["sparse_categorical_crossentropy", "7", "row 1", "3 output units", "0-2"],
    );
    let fractional = Tensor::<f32>::from_f64(&[0.5, 1.0], [2]).unwrap();
    assert_mentions(
        &message(loss::sparse_categorical_crossentropy_from_logits(&zeros(&[2, 3]), &fractional)),
        &["0.5", "row 0"],
    );
    assert_mentions(&message(loss::huber(&zeros(&[2]), &zeros(&[2]), 0.0)), &["huber", "delta", "0"]);
    assert_mentions(&message(loss::mse(&zeros(&[0, 2]), &zeros(&[0, 2]))), &["mse", "empty"]);
    assert_mentions(&message(strata::loss::Loss::from_name("mse2")), &["unknown loss", "mse2", "mean_squared_error"]);
}

#[test]
fn autograd_misuse_is_an_error() {
    let x = zeros(&[2, 2]).with_requires_grad(true);
    let y = x.mul_scalar(2.0).unwrap();
    assert_mentions(&message(y.backward()), &["backward", "scalar", "[2, 2]"]);
    let s = y.sum().unwrap();
    s.backward().unwrap();
    assert_mentions(&message(s.backward()), &["already freed"]);
}

#[test]
fn bad_random_parameters_are_errors() {
    let mut rng = strata::rng::seeded_rng(0);
    assert_mentions(&message(Tensor::<f32>::randn([2], 0.0, -1.0, &mut rng)), &["randn", "-1"]);
    assert_mentions(
        &message(Tensor::<f32>::rand_uniform([2], 1.0, 1.0, &mut rng)),
        &["rand_uniform", "low 1", "high 1"],
    );
}

#[test]
fn conv_and_pooling_layers_refuse_bad_shapes_naming_the_layer() {
    use strata::nn::{Conv1DConfig, Conv2DConfig, MaxPooling1DConfig, MaxPooling2DConfig, Sequential};
    let net = |input: &[usize], config: strata::nn::LayerConfig| {
        Sequential::<f32>::new(input.to_vec(), 0).add(config).map(drop)
    };
    let show = |m: String| {
        println!("{m}");
        m
    };
    // A kernel larger than its unpadded input.
    assert_mentions(
        &show(message(net(&[2, 5, 1], Conv2DConfig::new(4, 3).into()))),
        &["conv2d", "3x3", "[2, 5, 1]", "padding"],
    );
    // A dilated kernel spans (k - 1) * d + 1 positions.
    assert_mentions(
        &show(message(net(&[6, 6, 1], Conv2DConfig::new(4, 3).dilation_rate(3, 3).into()))),
        &["conv2d", "7"],
    );
    // Zero strides and dilations.
    assert_mentions(
        &show(message(net(&[6, 6, 1], Conv2DConfig::new(4, 3).strides(0, 1).into()))),
        &["conv2d", "strides"],
    );
    assert_mentions(
        &show(message(net(&[6, 6, 1], Conv2DConfig::new(4, 3).dilation_rate(1, 0).into()))),
        &["conv2d", "dilation"],
    );
    assert_mentions(&show(message(net(&[6, 6, 1], Conv2DConfig::new(0, 3).into()))), &["conv2d", "filters"]);
    // A conv layer after a flat input: it asks for [height, width, channels].
    assert_mentions(
        &show(message(net(&[784], Conv2DConfig::new(4, 3).into()))),
        &["conv2d", "[784]", "[height, width, channels]"],
    );
    assert_mentions(
        &show(message(net(&[784], Conv1DConfig::new(4, 3).into()))),
        &["conv1d", "[784]", "[steps, channels]"],
    );
    assert_mentions(
        &show(message(net(&[2, 3], Conv1DConfig::new(4, 3).into()))),
        &["conv1d", "[2, 3]", "kernel of 3", "2"],
    );
    // Pools larger than their input, and zero pool strides.
    assert_mentions(
        &show(message(net(&[1, 5, 2], MaxPooling2DConfig::new(2).into()))),
        &["max_pooling2d", "[1, 5, 2]", "2x2 window", "1x5"],
    );
    assert_mentions(
        &show(message(net(&[6, 6, 2], MaxPooling2DConfig::new(2).strides(0, 2).into()))),
        &["max_pooling2d", "strides"],
    );
    assert_mentions(
        &show(message(net(&[1, 2], MaxPooling1DConfig::new(2).into()))),
        &["max_pooling1d", "[1, 2]", "window of 2", "1 steps"],
    );
    assert_mentions(&show(message(net(&[784], MaxPooling2DConfig::new(2).into()))), &["max_pooling2d", "[784]"]);
}

/// Sequence layers refuse bad input naming the layer and the problem: a token index at or above
/// `input_dim` (with the sample and position, not a read past the table), a fraction or a
/// negative index, a sequence of no steps, a recurrent layer after a flat input (suggesting a
/// reshape), a mask that a layer would drop, options of another kind of cell, `return_state` in
/// a stack.
#[test]
fn sequence_layers_refuse_bad_input_naming_the_layer() {
    use strata::nn::{
        EmbeddingConfig, FlattenConfig, GruConfig, Layer, LayerConfig, LstmConfig, Mode, Network, Sequential,
        SimpleRnnConfig,
    };
    let show = |m: String| {
        println!("{m}");
        m
    };
    let net = Sequential::<f32>::new([3], 0).add(EmbeddingConfig::new(5, 2).name("tokens")).unwrap();
    let layer = net.each_layer()[0];
    let x = Tensor::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 7.0, 0.0], [2, 3]).unwrap();
    assert_mentions(&show(message(layer.forward(&x, Mode::Infer))), &["tokens", "7", "sample 1", "position 1", "0..5"]);
    let x = Tensor::<f32>::from_vec(vec![1.5, 2.0, 3.0], [1, 3]).unwrap();
    assert_mentions(&show(message(net.forward(&x, Mode::Infer))), &["tokens", "1.5", "whole number"]);
    let x = Tensor::<f32>::from_vec(vec![-1.0, 2.0, 3.0], [1, 3]).unwrap();
    assert_mentions(&show(message(net.forward(&x, Mode::Infer))), &["tokens", "-1"]);
    // No steps.
    let e = Sequential::<f32>::new([0, 4], 0).add(LstmConfig::new(3)).map(drop);
    assert_mentions(&show(message(e)), &["lstm", "[0, 4]", "at least one step"]);
    // After a flat input.
    let e = Sequential::<f32>::new([784], 0).add(LstmConfig::new(3)).map(drop);
    assert_mentions(&show(message(e)), &["lstm", "[784]", "[steps, features]", "reshape"]);
    // A mask that Flatten would drop.
    let e = Sequential::<f32>::new([4], 0)
        .add(EmbeddingConfig::new(5, 2).mask_zero(true))
        .unwrap()
        .add(FlattenConfig::default())
        .map(drop);
    assert_mentions(&show(message(e)), &["flatten", "mask"]);
    // Options of another cell, and return_state in a stack.
    let simple =
        SimpleRnnConfig { recurrent_activation: Some(strata::nn::Activation::Sigmoid), ..SimpleRnnConfig::new(2) };
    let e = Sequential::<f32>::new([3, 2], 0).add(simple).map(drop);
    assert_mentions(&show(message(e)), &["simple_rnn", "recurrent_activation"]);
    let gru = GruConfig { reset_after: Some(false), ..GruConfig::new(2) };
    assert_mentions(&show(message(Sequential::<f32>::new([3, 2], 0).add(gru).map(drop))), &["gru", "reset_after"]);
    let lstm = LstmConfig { return_state: true, ..LstmConfig::new(2) };
    let e = Sequential::<f32>::new([3, 2], 0).add(LayerConfig::from(lstm)).map(drop);
    assert_mentions(&show(message(e)), &["lstm", "return_state", "forward_with_states"]);
    // A batch of the wrong width at run time.
    let net = Sequential::<f32>::new([3, 2], 0).add(GruConfig::new(2)).unwrap();
    let e = net.each_layer()[0].forward(&zeros(&[1, 3, 5]), Mode::Infer);
    assert_mentions(&show(message(e)), &["gru", "[1, 3, 5]"]);
}
