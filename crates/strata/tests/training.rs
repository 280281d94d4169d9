//! Layers, models and training: the lecture examples learned from a random start, summary,
//! layer gradient checks, early stopping, dropout, reproducibility and the bad-input errors.

use strata::data::gates::{truth_table, Gate};
use strata::lectures;
use strata::loss::Loss;
use strata::nn::{
    gradcheck_layer, Activation, DenseConfig, DropConnectConfig, DropoutConfig, Initializer, Layer, LayerConfig,
    MaxoutConfig, Mode, Network, Regularizer, Sequential,
};
use strata::optim::{Adam, OptimizerConfig, Sgd};
use strata::rng::seeded_rng;
use strata::train::{EarlyStopping, FitConfig, Metric};
use strata::{GradcheckConfig, Tensor};

fn quiet<T: strata::Element>(epochs: usize, batch_size: usize) -> FitConfig<T> {
    FitConfig { epochs, batch_size, verbose: 0, ..FitConfig::default() }
}

#[test]
fn iris_summary_matches_lecture_000() {
    let net = lectures::iris_network(0).unwrap();
    let rows = net.summary_rows();
    let counts: Vec<usize> = rows.iter().map(|r| r.params).collect();
    assert_eq!(counts, vec![0, 96, 2112, 2080, 66]);
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, vec!["input", "hidden1", "hidden2", "hidden3", "output"]);
    let table = net.summary();
    for needle in [
        "hidden2 (Dense)",
        "(None, 64)",
        "2,112",
        "Total params: 4,354",
        "Trainable params: 4,354",
        "Non-trainable params: 0",
    ] {
        assert!(table.contains(needle), "summary lacks {needle:?}:\n{table}");
    }
}

/// Every layer kind passes the f64 gradient check on its input and parameters, batch 1 and 33.
#[test]
fn layers_pass_the_gradient_check() {
    let configs: Vec<(LayerConfig, Vec<usize>)> = vec![
        (DenseConfig::new(4).activation(Activation::Tanh).into(), vec![3]),
        (DenseConfig::new(3).use_bias(false).activation(Activation::Sigmoid).into(), vec![5]),
        (
            DenseConfig::new(2)
                .kernel_initializer(Initializer::HeNormal)
                .bias_initializer(Initializer::Constant(0.1))
                .activation(Activation::Softmax)
                .into(),
            vec![4],
        ),
        (Activation::Gelu.into(), vec![6]),
        (LayerConfig::Flatten(Default::default()), vec![2, 3]),
        (DropoutConfig::new(0.5).into(), vec![4]),
        (DropConnectConfig::new(DenseConfig::new(3).activation(Activation::Tanh), 0.5).into(), vec![4]),
        (MaxoutConfig::new(3, 4).into(), vec![5]),
    ];
    for (config, shape) in configs {
        for batch in [1usize, 33] {
            let net = Sequential::<f64>::new(shape.clone(), 7).add(config.clone()).unwrap();
            let mut dims = vec![batch];
            dims.extend(&shape);
            let x = Tensor::<f64>::randn(dims, 0.0, 1.0, &mut seeded_rng(batch as u64)).unwrap();
            let report = gradcheck_layer(&net, &x, &GradcheckConfig::default()).unwrap();
            assert!(report.passed, "{config:?} batch {batch}: {report}");
        }
    }
}

#[test]
fn regularizers_add_their_penalty() {
    let net = Sequential::<f64>::new([2], 0)
        .add(
            DenseConfig::new(3)
                .kernel_initializer(Initializer::Constant(0.5))
                .bias_initializer(Initializer::Constant(-2.0))
                .kernel_regularizer(Regularizer::L1L2 { l1: 0.1, l2: 0.01 })
                .bias_regularizer(Regularizer::L2(1.0)),
        )
        .unwrap();
    // kernel: 6 weights of 0.5 -> 0.1 * 3 + 0.01 * 1.5; bias: 3 of -2 -> 1.0 * 12.
    let penalty = net.penalty().unwrap().unwrap().item().unwrap();
    assert!((penalty - (0.3 + 0.015 + 12.0)).abs() < 1e-12, "{penalty}");
    let x = Tensor::<f64>::randn([4, 2], 0.0, 1.0, &mut seeded_rng(0)).unwrap();
    let report = gradcheck_layer(&net, &x, &GradcheckConfig::default()).unwrap();
    assert!(report.passed, "{report}");
}

/// Lecture 002: a perceptron with the unit step learns NOT, AND and OR, and cannot learn XOR.
#[test]
fn perceptron_learns_the_gates_but_not_xor() {
    for gate in [Gate::Not, Gate::And, Gate::Or] {
        let (x, y) = truth_table::<f64>(gate).unwrap();
        let p = lectures::train_perceptron(&x, &y, 0.1, 100).unwrap();
        assert!(p.converged, "{gate:?} did not converge");
        assert_eq!(p.predict(&x).unwrap().to_vec(), y.to_vec(), "{gate:?}");
    }
    let (x, y) = truth_table::<f64>(Gate::Xor).unwrap();
    let p = lectures::train_perceptron(&x, &y, 0.1, 1000).unwrap();
    assert!(!p.converged);
    let right = p.predict(&x).unwrap().data().iter().zip(y.data()).filter(|(a, b)| a == b).count();
    assert!(right <= 3, "a single perceptron got all four XOR rows right");
}

/// Lecture 004: XOR learned from a random start by a network with 2 hidden units.
#[test]
fn xor_is_learned_by_two_hidden_units() {
    let (x, y) = truth_table::<f32>(Gate::Xor).unwrap();
    let net = Sequential::new([2], 3)
        .add(DenseConfig::new(2).activation(Activation::Tanh))
        .unwrap()
        .add(DenseConfig::new(1).activation(Activation::Sigmoid))
        .unwrap();
    let mut model = net
        .compile(
            OptimizerConfig::Adam(Adam::new(0.05)),
            Loss::BinaryCrossentropy { from_logits: false },
            &[Metric::Accuracy],
        )
        .unwrap();
    let history = model.fit(&x, &y, &quiet(600, 4)).unwrap();
    assert_eq!(history.get("accuracy").unwrap().last(), Some(&1.0));
    let pred = model.predict(&x, 4).unwrap();
    let rounded: Vec<f32> = pred.data().iter().map(|p| p.round()).collect();
    assert_eq!(rounded, vec![0.0, 1.0, 1.0, 0.0], "{pred}");
}

#[test]
fn iris_regression_reaches_the_documented_figure() {
    let run = lectures::iris_regression(lectures::IRIS_SEED, 0).unwrap();
    assert!(run.test_mse <= 0.22, "test MSE {}", run.test_mse);
    assert_eq!(run.history.get("loss").unwrap().len(), 100);
    assert_eq!(run.history.get("val_loss").unwrap().len(), 100);
    // Learning happened: the last epochs' training loss is far below the first's.
    let loss = run.history.get("loss").unwrap();
    assert!(loss[99] < loss[0] / 3.0, "{} -> {}", loss[0], loss[99]);
}

#[test]
fn same_seed_gives_bit_identical_weights() {
    let train = || {
        let run = lectures::iris_regression(5, 0).unwrap();
        run.model.get_weights().iter().flat_map(|w| w.to_vec()).map(f32::to_bits).collect::<Vec<u32>>()
    };
    assert_eq!(train(), train());
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    let (x, y, xv, yv) = strata::data::iris::lecture_regression_split::<f32>().unwrap();
    // A learning rate large enough that validation loss bounces, so the last epoch is not the best.
    let mut model = lectures::iris_network(1)
        .unwrap()
        .compile(OptimizerConfig::Sgd(Sgd::new(0.03)), Loss::MeanSquaredError, &[])
        .unwrap();
    let mut stopper = EarlyStopping::new("val_loss", 5).restore_best_weights(true);
    let config = FitConfig { validation_data: Some((xv.clone(), yv.clone())), ..quiet(200, 32) };
    let history = model.fit_with_callbacks(&x, &y, &config, &mut [&mut stopper]).unwrap();
    let best_epoch = stopper.best_epoch.unwrap();
    let val = history.get("val_loss").unwrap();
    let best = val.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(val[best_epoch], best);
    assert!(stopper.stopped_epoch.is_some(), "training should have stopped early");
    assert!(val.len() < 200 && val[val.len() - 1] > best);
    let restored = model.evaluate(&xv, &yv, 32).unwrap()[0].1;
    assert!((restored - best).abs() < 1e-6, "restored {restored} vs best {best}");
}

#[test]
fn dropout_changes_training_output_but_not_predict() {
    let net = Sequential::<f32>::new([8], 0).add(DropoutConfig::new(0.5)).unwrap();
    let x = Tensor::<f32>::ones([4, 8]);
    let train = net.forward(&x, Mode::Train).unwrap();
    assert_ne!(train.to_vec(), x.to_vec());
    assert!(train.data().iter().all(|&v| v == 0.0 || v == 2.0), "inverted scaling: kept units are x / (1 - rate)");
    assert_eq!(net.forward(&x, Mode::Infer).unwrap().to_vec(), x.to_vec());
    let model = net.compile(OptimizerConfig::from_name("sgd").unwrap(), Loss::MeanSquaredError, &[]).unwrap();
    assert_eq!(model.predict(&x, 2).unwrap().to_vec(), x.to_vec());
}

#[test]
fn bad_models_and_data_are_errors_that_name_the_problem() {
    let msg = |e: strata::Error| e.to_string();
    // A layer that does not fit its input: named at `add`.
    let e = Sequential::<f32>::new([28, 28], 0).add(DenseConfig::new(10).name("dense_1")).err().unwrap();
    let e = msg(e);
    assert!(e.contains("dense_1") && e.contains("[28, 28]") && e.contains("Flatten"), "{e}");
    let e = Sequential::<f32>::new([4], 0).add(DenseConfig::new(0)).err().unwrap();
    assert!(msg(e).contains("units must be > 0, got 0"));
    let e = Sequential::<f32>::new([4], 0).add(DropoutConfig::new(1.5)).err().unwrap();
    assert!(msg(e).contains("1.5"));

    let (x, y) = truth_table::<f32>(Gate::Xor).unwrap();
    let mut model = Sequential::new([2], 0)
        .add(DenseConfig::new(3))
        .unwrap()
        .compile(OptimizerConfig::from_name("adam").unwrap(), Loss::MeanSquaredError, &[])
        .unwrap();
    // Targets of the wrong width.
    let e = model.fit(&x, &y, &quiet(1, 2)).err().unwrap().to_string();
    assert!(e.contains("[3]") && e.contains("[4, 1]") && e.contains("mse"), "{e}");
    // Row counts differ.
    let e = model.fit(&x, &Tensor::zeros([3, 3]), &quiet(1, 2)).err().unwrap().to_string();
    assert!(e.contains("same number of rows") && e.contains("[4, 2]") && e.contains("[3, 3]"), "{e}");
    // Wrong input width.
    let e = model.fit(&Tensor::zeros([4, 5]), &Tensor::zeros([4, 3]), &quiet(1, 2)).err().unwrap().to_string();
    assert!(e.contains("[5]") && e.contains("[2]"), "{e}");
    // Empty dataset, batch size 0.
    let e = model.fit(&Tensor::zeros([0, 2]), &Tensor::zeros([0, 3]), &quiet(1, 2)).err().unwrap().to_string();
    assert!(e.contains("empty"), "{e}");
    let e = model.fit(&x, &Tensor::zeros([4, 3]), &quiet(1, 0)).err().unwrap().to_string();
    assert!(e.contains("batch_size must be > 0, got 0"), "{e}");
    assert!(model.predict(&x, 0).is_err() && model.evaluate(&x, &Tensor::zeros([4, 3]), 0).is_err());

    // Class labels outside 0..units for sparse cross-entropy.
    let mut clf = Sequential::new([2], 0)
        .add(DenseConfig::new(3).activation(Activation::Softmax))
        .unwrap()
        .compile(
            OptimizerConfig::from_name("adam").unwrap(),
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            &[Metric::Accuracy],
        )
        .unwrap();
    let labels = Tensor::<f32>::from_f64(&[0.0, 1.0, 2.0, 3.0], [4]).unwrap();
    let e = clf.fit(&x, &labels, &quiet(1, 4)).err().unwrap().to_string();
    assert!(e.contains("label 3 in row 3") && e.contains("0-2"), "{e}");
}

#[test]
fn a_non_finite_loss_stops_training_and_names_epoch_and_batch() {
    let (x, _) = truth_table::<f32>(Gate::Xor).unwrap();
    let y = Tensor::<f32>::from_f64(&[0.0, 1.0, f64::NAN, 0.0], [4, 1]).unwrap();
    let mut model = Sequential::new([2], 0)
        .add(DenseConfig::new(1))
        .unwrap()
        .compile(OptimizerConfig::from_name("sgd").unwrap(), Loss::MeanSquaredError, &[])
        .unwrap();
    let before = model.get_weights();
    let e = model.fit(&x, &y, &FitConfig { shuffle: false, ..quiet(3, 2) }).err().unwrap().to_string();
    assert!(e.contains("epoch 1, batch 2") && e.contains("NaN"), "{e}");
    // The first batch was fine and updated the weights; the bad one changed nothing after it.
    assert!(model.get_weights().iter().all(|w| w.all_finite()));
    assert_ne!(before[0].to_vec(), model.get_weights()[0].to_vec());
}

/// Maxout with pieces x and -x is |x|; its gradient flows through the winning piece.
#[test]
fn maxout_takes_the_largest_piece() {
    let net = Sequential::<f64>::new([1], 0).add(MaxoutConfig::new(1, 2)).unwrap();
    let params = net.params();
    params[0].set(&Tensor::from_f64(&[1.0, -1.0], [1, 2]).unwrap()).unwrap();
    let x = Tensor::<f64>::from_f64(&[-2.0, 0.5, 3.0], [3, 1]).unwrap();
    assert_eq!(net.forward(&x, Mode::Infer).unwrap().to_vec(), vec![2.0, 0.5, 3.0]);
    assert_eq!(net.summary_rows()[1].kind, "Maxout");
    assert_eq!(net.count_params(), 4);
}

/// DropConnect drops individual weights: in training the kernel's gradient has zeros scattered
/// inside columns (dropout would zero whole columns), and inference uses the full kernel.
#[test]
fn drop_connect_drops_weights_not_units() {
    let net = Sequential::<f64>::new([6], 1).add(DropConnectConfig::new(DenseConfig::new(5), 0.5)).unwrap();
    let x = Tensor::<f64>::ones([2, 6]);
    let a = net.forward(&x, Mode::Train).unwrap();
    let b = net.forward(&x, Mode::Train).unwrap();
    assert_ne!(a.to_vec(), b.to_vec(), "a fresh mask per batch");
    let kernel = net.params()[0].value();
    assert_eq!(net.forward(&x, Mode::Infer).unwrap().to_vec(), x.matmul(&kernel).unwrap().to_vec());
    let grads = net.forward(&x, Mode::Train).unwrap().sum().unwrap().backward().unwrap();
    let g = grads.get_id(net.params()[0].id()).unwrap().to_vec();
    let zeros = g.iter().filter(|v| **v == 0.0).count();
    assert!(zeros > 5 && zeros < 25, "about half of 30 weights dropped, got {zeros}");
    let mixed_column = (0..5).any(|c| {
        let col: Vec<f64> = (0..6).map(|r| g[r * 5 + c]).collect();
        col.contains(&0.0) && col.iter().any(|v| *v != 0.0)
    });
    assert!(mixed_column, "zeros follow weights, not units: {g:?}");
}

#[test]
fn confusion_matrix_and_classification_report() {
    use strata::train::metrics::{classification_report, confusion_matrix};
    let truth = [0, 0, 1, 1, 2, 2, 2];
    let pred = [0, 1, 1, 1, 2, 0, 2];
    let m = confusion_matrix(&truth, &pred, 3).unwrap();
    assert_eq!(m, vec![vec![1, 1, 0], vec![0, 2, 0], vec![1, 0, 2]]);
    let r = classification_report(&m);
    assert_eq!(r.precision, vec![0.5, 2.0 / 3.0, 1.0]);
    assert_eq!(r.recall, vec![0.5, 1.0, 2.0 / 3.0]);
    assert!((r.f1[1] - 0.8).abs() < 1e-12 && (r.macro_f1 - (0.5 + 0.8 + 0.8) / 3.0).abs() < 1e-12);
    assert!(confusion_matrix(&[0, 3], &[0, 1], 3).err().unwrap().to_string().contains("label 3"));
}

#[test]
fn validation_split_csv_logger_and_plateau() {
    use strata::train::{CsvLogger, ReduceLrOnPlateau};
    let (x, y, _, _) = strata::data::iris::lecture_regression_split::<f32>().unwrap();
    let mut model = lectures::iris_network(2)
        .unwrap()
        .compile(OptimizerConfig::Sgd(Sgd::new(0.01)), Loss::MeanSquaredError, &[Metric::MeanAbsoluteError])
        .unwrap();
    let dir = std::env::temp_dir().join(format!("strata-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("log.csv");
    let mut logger = CsvLogger::new(&path);
    let mut plateau = ReduceLrOnPlateau::new("val_loss");
    (plateau.patience, plateau.min_delta, plateau.factor) = (1, 10.0, 0.5);
    let config = FitConfig { validation_split: 0.25, ..quiet(4, 32) };
    let history = model.fit_with_callbacks(&x, &y, &config, &mut [&mut logger, &mut plateau]).unwrap();
    assert_eq!(history.names(), vec!["loss", "mae", "val_loss", "val_mae", "learning_rate"]);
    // min_delta 10 means nothing counts as improvement: the rate halves at the end of every epoch
    // but the first; each row logs the rate the epoch trained with.
    assert_eq!(history.get("learning_rate").unwrap(), &[0.01, 0.01, 0.005, 0.0025]);
    let csv = std::fs::read_to_string(&path).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.starts_with("epoch,loss,mae,val_loss,val_mae,learning_rate\n1,"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The functional API: a residual block (branch and merge) trains, summarises and checks.
#[test]
fn functional_residual_block() {
    use strata::nn::GraphBuilder;
    let mut g = GraphBuilder::<f64>::new(4);
    let x = g.input([3]).unwrap();
    let h = g.call(DenseConfig::new(3).activation(Activation::Tanh).name("inner"), &x).unwrap();
    let h = g.call(DenseConfig::new(3), &h).unwrap();
    let sum = g.add(&[&x, &h]).unwrap();
    let both = g.concatenate(&[&sum, &x], -1).unwrap();
    let out = g.call(DenseConfig::new(2), &both).unwrap();
    let net = g.build(&x, &out).unwrap();
    let kinds: Vec<String> = net.summary_rows().iter().map(|r| format!("{} {}", r.kind, r.output_shape)).collect();
    assert_eq!(kinds, vec!["InputLayer [3]", "Dense [3]", "Dense [3]", "Add [3]", "Concatenate [6]", "Dense [2]"]);
    assert_eq!(net.count_params(), 12 + 12 + 14);
    assert!(net.summary().contains("add (Add)"));
    let batch = Tensor::<f64>::randn([5, 3], 0.0, 1.0, &mut seeded_rng(0)).unwrap();
    let report = gradcheck_layer(&net, &batch, &GradcheckConfig::default()).unwrap();
    assert!(report.passed, "{report}");

    // The residual path: with the inner layers' output zeroed, add passes x through.
    let mut model = net.compile(OptimizerConfig::Adam(Adam::new(0.01)), Loss::MeanSquaredError, &[]).unwrap();
    let y = batch.narrow(1, 0, 2).unwrap();
    let history = model.fit(&batch, &y, &quiet(200, 5)).unwrap();
    let loss = history.get("loss").unwrap();
    assert!(loss[199] < loss[0] / 10.0, "{} -> {}", loss[0], loss[199]);

    // Errors: mismatched merge shapes, symbols from another graph, duplicate names.
    let mut g = GraphBuilder::<f32>::new(0);
    let a = g.input([3]).unwrap();
    let b = g.call(DenseConfig::new(2).name("d"), &a).unwrap();
    assert!(g.add(&[&a, &b]).err().unwrap().to_string().contains("[3] vs [2]"));
    assert!(g.call(DenseConfig::new(2).name("d"), &a).err().unwrap().to_string().contains("'d' is already used"));
    let mut other = GraphBuilder::<f32>::new(0);
    assert!(other.call(DenseConfig::new(2), &a).err().unwrap().to_string().contains("another graph"));
}

/// A trained model is Send + Sync: 8 threads predicting at once get the sequential outputs.
#[test]
fn concurrent_predictions_match_sequential_ones() {
    fn assert_send_sync<X: Send + Sync>(_: &X) {}
    let run = lectures::iris_regression(2, 0).unwrap();
    let model = &run.model;
    assert_send_sync(model);
    let inputs: Vec<Tensor<f32>> = (0..50)
        .map(|i| Tensor::<f32>::rand_uniform([1 + i % 7, 2], 4.0, 8.0, &mut seeded_rng(i as u64)).unwrap())
        .collect();
    let sequential: Vec<Vec<u32>> =
        inputs.iter().map(|x| model.predict(x, 4).unwrap().data().iter().map(|v| v.to_bits()).collect()).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    for _ in 0..20 {
                        for (x, want) in inputs.iter().zip(&sequential) {
                            let got: Vec<u32> =
                                model.predict(x, 4).unwrap().data().iter().map(|v| v.to_bits()).collect();
                            assert_eq!(&got, want);
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().unwrap());
    });
}

/// A NaN injected at batch k stops training there, names epoch, batch and value, and with
/// anomaly detection on, the op where it started; weights stay finite.
#[test]
fn injected_nan_is_traced_to_its_op() {
    use strata::autograd::anomaly::set_detect_anomaly;
    let (x, y, _, _) = strata::data::iris::lecture_regression_split::<f32>().unwrap();
    let mut bad = x.to_vec();
    bad[70] = f32::NAN; // row 35: the second batch of 32 without shuffling
    let x = Tensor::from_vec(bad, x.dims().to_vec()).unwrap();
    let mut model = lectures::iris_network(0)
        .unwrap()
        .compile(OptimizerConfig::Sgd(Sgd::new(0.01)), Loss::MeanSquaredError, &[])
        .unwrap();
    let config = FitConfig { shuffle: false, ..quiet(3, 32) };
    let e = model.fit(&x, &y, &config).err().unwrap().to_string();
    assert!(e.contains("epoch 1, batch 2") && e.contains("NaN") && e.contains("set_detect_anomaly"), "{e}");
    set_detect_anomaly(true);
    let e = model.fit(&x, &y, &config).err().unwrap().to_string();
    set_detect_anomaly(false);
    // The NaN came with the data: the first op to output it is the batch selection.
    assert!(e.contains("epoch 1, batch 2") && e.contains("op 'index_select'") && e.contains("[32, 2] (1 NaN"), "{e}");
    assert!(model.get_weights().iter().all(|w| w.all_finite()));
}

/// A non-finite gradient with a finite loss is refused before any weight changes.
#[test]
fn non_finite_gradients_never_reach_the_weights() {
    use strata::nn::Param;
    use strata::optim::Sgd;
    let w = Param::new("w", Tensor::<f32>::from_f64(&[4.0], [1]).unwrap(), true);
    // d/dw sqrt(w - 4) at w = 4 is infinite while the value, 0, is finite.
    let loss = w.value().add_scalar(-4.0).unwrap().sqrt().unwrap().sum().unwrap();
    assert!(loss.item().unwrap().is_finite());
    let grads = loss.backward().unwrap();
    let mut opt = OptimizerConfig::Sgd(Sgd::new(0.1)).build::<f32>().unwrap();
    let e = opt.step(&[&w], &grads).err().unwrap().to_string();
    assert!(e.contains("gradient of parameter 'w'") && e.contains("inf"), "{e}");
    assert_eq!(w.value().to_vec(), vec![4.0]);
}

#[test]
fn absurd_sizes_are_errors_not_aborts() {
    let e = Sequential::<f32>::new([1 << 20], 0).add(DenseConfig::new(1 << 20)).err().unwrap().to_string();
    assert!(e.contains("exceeds the cap"), "{e}");
    let e = Sequential::<f32>::new([usize::MAX, 4], 0)
        .add(LayerConfig::Flatten(Default::default()))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("overflows"), "{e}");
    let e = Sequential::<f32>::new([4], 0).add(MaxoutConfig::new(usize::MAX, 2)).err().unwrap().to_string();
    assert!(e.contains("overflows"), "{e}");
}
