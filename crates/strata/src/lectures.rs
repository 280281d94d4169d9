//! The lectures' worked examples as library calls, so the command line, the examples and the
//! tests run the same recipe.

use crate::data::iris;
use crate::error::Result;
use crate::loss::Loss;
use crate::nn::{Activation, DenseConfig, Sequential};
use crate::optim::{OptimizerConfig, Sgd};
use crate::tensor::Tensor;
use crate::train::{FitConfig, History, Model};

/// The seed of the documented Iris run. It was picked from seeds 0..20, whose test MSE has median
/// 0.254 and range 0.168-0.358 (docs/lectures.md): the figure at one seed is mostly noise.
pub const IRIS_SEED: u64 = 10;

/// Lecture 000's network: 2 -> 32 -> 64 -> 32 -> 2, ReLU hidden layers, linear output,
/// Glorot-uniform kernels (4,354 parameters).
///
/// # Errors
/// Never for this fixed architecture; `Result` because building layers can fail in general.
pub fn iris_network(seed: u64) -> Result<Sequential<f32>> {
    let relu = |units, name| DenseConfig::new(units).activation(Activation::Relu).name(name);
    Sequential::new([2], seed)
        .add(relu(32, "hidden1"))?
        .add(relu(64, "hidden2"))?
        .add(relu(32, "hidden3"))?
        .add(DenseConfig::new(2).name("output"))
}

/// The result of [`iris_regression`].
pub struct IrisRun {
    /// The trained model.
    pub model: Model<f32>,
    /// Loss per epoch, with `val_loss` on the test split (as the lecture's learning curves).
    pub history: History,
    /// MSE on the 30 test rows (the lecture reports 0.1016).
    pub test_mse: f64,
}

/// Lecture 000's Iris regression: SGD (lr 0.01), MSE, batch 32, 100 epochs, validating on the
/// test split each epoch, then `evaluate` on it.
///
/// # Errors
/// Only if training fails (it does not on this fixed data).
pub fn iris_regression(seed: u64, verbose: u8) -> Result<IrisRun> {
    let (x_train, y_train, x_test, y_test) = iris::lecture_regression_split::<f32>()?;
    let mut model = iris_network(seed)?.compile(OptimizerConfig::Sgd(Sgd::new(0.01)), Loss::MeanSquaredError, &[])?;
    let config = FitConfig {
        epochs: 100,
        batch_size: 32,
        seed,
        validation_data: Some((x_test.clone(), y_test.clone())),
        verbose,
        ..FitConfig::default()
    };
    let history = model.fit(&x_train, &y_train, &config)?;
    let test_mse = model.evaluate(&x_test, &y_test, 32)?[0].1;
    Ok(IrisRun { model, history, test_mse })
}

/// A single perceptron with the unit-step activation (lectures 001 and 002):
/// `ŷ = step(x · w + b)`.
#[derive(Clone, Debug)]
pub struct Perceptron {
    /// One weight per input.
    pub weights: Tensor<f64>,
    /// The bias (lecture 001's `w0`).
    pub bias: f64,
    /// Epochs the learning rule ran.
    pub epochs: usize,
    /// Whether an epoch passed with no mistake.
    pub converged: bool,
}

impl Perceptron {
    /// The outputs (0 or 1) for inputs `[rows, inputs]`, as a `[rows, 1]` tensor.
    ///
    /// # Errors
    /// When the input width differs from the number of weights.
    pub fn predict(&self, x: &Tensor<f64>) -> Result<Tensor<f64>> {
        x.matmul(&self.weights)?.add_scalar(self.bias)?.step()
    }
}

/// Rosenblatt's learning rule: for each misclassified row, `w += lr (y - ŷ) x` and
/// `b += lr (y - ŷ)`, until an epoch has no mistake or `max_epochs` pass. The step has no useful
/// gradient, so this rule, not back-propagation, trains a perceptron; it converges exactly when
/// the data is linearly separable (AND, OR, NOT) and never for XOR.
///
/// # Errors
/// When `x` is not `[rows, inputs]` or `y` not `[rows, 1]`.
pub fn train_perceptron(x: &Tensor<f64>, y: &Tensor<f64>, learning_rate: f64, max_epochs: usize) -> Result<Perceptron> {
    let (rows, inputs) = x.shape().dims2("train_perceptron")?;
    if y.dims() != [rows, 1] {
        return Err(crate::Error::mismatch(
            "train_perceptron",
            x.shape(),
            y.shape(),
            format!("targets must be [{rows}, 1]"),
        ));
    }
    let mut p = Perceptron { weights: Tensor::zeros([inputs, 1]), bias: 0.0, epochs: 0, converged: false };
    while p.epochs < max_epochs && !p.converged {
        p.epochs += 1;
        p.converged = true;
        for r in 0..rows {
            let row = x.slice_batch(r, r + 1)?;
            let error = y.data()[r] - p.predict(&row)?.item()?;
            if error != 0.0 {
                p.converged = false;
                p.weights = p.weights.add(&row.t()?.mul_scalar(learning_rate * error)?)?;
                p.bias += learning_rate * error;
            }
        }
    }
    Ok(p)
}

/// Lecture 004's classifier: Flatten -> Dense 128 ReLU -> Dense 10 softmax.
///
/// # Errors
/// Never for this fixed architecture.
pub fn fashion_mnist_network(seed: u64) -> Result<Sequential<f32>> {
    Sequential::new([28, 28], seed)
        .add(crate::nn::LayerConfig::Flatten(Default::default()))?
        .add(DenseConfig::new(128).activation(Activation::Relu))?
        .add(DenseConfig::new(10).activation(Activation::Softmax))
}

/// The result of [`fashion_mnist`].
pub struct FashionMnistRun {
    /// The trained model.
    pub model: Model<f32>,
    /// Loss and accuracy per epoch.
    pub history: History,
    /// Test loss (the lecture reports 0.3378).
    pub test_loss: f64,
    /// Test accuracy (the lecture reports 0.8792).
    pub test_accuracy: f64,
}

/// Lecture 004's Fashion-MNIST demo: pixels / 255, Adam (Keras defaults), sparse categorical
/// cross-entropy, batch 32, `epochs` epochs (the lecture: 5), data from a directory laid out like
/// `../shared/data/fashion-mnist`.
///
/// # Errors
/// When the data cannot be read.
pub fn fashion_mnist(
    dir: impl AsRef<std::path::Path>,
    epochs: usize,
    seed: u64,
    verbose: u8,
) -> Result<FashionMnistRun> {
    let data = crate::data::idx::load_mnist_dir::<f32>(dir)?;
    let mut model = fashion_mnist_network(seed)?.compile(
        OptimizerConfig::Adam(crate::optim::Adam::default()),
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &[crate::train::Metric::Accuracy],
    )?;
    let config = FitConfig { epochs, batch_size: 32, seed, verbose, ..FitConfig::default() };
    let history = model.fit(&data.x_train, &data.y_train, &config)?;
    let results = model.evaluate(&data.x_test, &data.y_test, 32)?;
    Ok(FashionMnistRun { model, history, test_loss: results[0].1, test_accuracy: results[1].1 })
}
