//! Gradient check of a whole layer in f64: its input and every parameter, against central
//! finite differences (public, so users can check the layers they write).

use super::{Layer, Mode};
use crate::autograd::{dot, no_grad, GradcheckConfig, GradcheckReport, ReportBuilder};
use crate::error::Result;
use crate::rng::seeded_rng;
use crate::tensor::Tensor;

/// Check `layer`'s gradients at `input` in `Mode::Infer` (deterministic). Position 0 of the
/// report is the input; position `k` is the `k`-th parameter in `params()` order (trainable
/// ones only: the others get no gradient).
///
/// # Errors
/// When the forward pass fails or a value is not finite.
pub fn gradcheck_layer(
    layer: &dyn Layer<f64>,
    input: &Tensor<f64>,
    config: &GradcheckConfig,
) -> Result<GradcheckReport> {
    gradcheck_layer_inputs(layer, input, config, true)
}

/// [`gradcheck_layer`], checking the input's gradient or not (token indices have none).
fn gradcheck_layer_inputs(
    layer: &dyn Layer<f64>,
    input: &Tensor<f64>,
    config: &GradcheckConfig,
    check_input: bool,
) -> Result<GradcheckReport> {
    let x = input.with_requires_grad(true);
    let output = layer.forward(&x, Mode::Infer)?;
    let projection = Tensor::<f64>::randn(output.shape().clone(), 0.0, 1.0, &mut seeded_rng(config.seed))?;
    let objective = |x: &Tensor<f64>| -> Result<f64> {
        let _guard = no_grad();
        let v = dot(&layer.forward(x, Mode::Infer)?, &projection)?;
        if v.is_finite() {
            Ok(v)
        } else {
            Err(crate::Error::NonFinite { context: format!("gradcheck_layer '{}'", layer.name()), value: v })
        }
    };
    let grads = output.backward_with(projection.clone())?;
    let mut report = ReportBuilder::new(config);

    let analytic = grads.get(&x).map(|g| g.to_vec()).unwrap_or_else(|| vec![0.0; x.numel()]);
    for (j, &a) in analytic.iter().enumerate().filter(|_| check_input) {
        let shifted = |d: f64| -> Result<f64> {
            let mut data = input.to_vec();
            data[j] += d;
            objective(&Tensor::from_vec(data, input.shape().clone())?)
        };
        report.add((0, j), a, (shifted(config.eps)? - shifted(-config.eps)?) / (2.0 * config.eps));
    }
    // Non-trainable parameters (moving statistics) get no gradient and are not checked.
    for (k, param) in layer.params().iter().enumerate().filter(|(_, p)| p.trainable()) {
        let original = param.value().detach();
        let analytic = grads.get_id(param.id()).map(|g| g.to_vec()).unwrap_or_else(|| vec![0.0; param.numel()]);
        for (j, &a) in analytic.iter().enumerate() {
            let shifted = |d: f64| -> Result<f64> {
                let mut data = original.to_vec();
                data[j] += d;
                param.set(&Tensor::from_vec(data, original.shape().clone())?)?;
                objective(input)
            };
            let n = (shifted(config.eps)? - shifted(-config.eps)?) / (2.0 * config.eps);
            param.set(&original)?;
            report.add((k + 1, j), a, n);
        }
    }
    Ok(report.finish())
}

/// The checks every layer kind must pass, in one harness (each layer's test calls it): built
/// from `config` for per-sample `input_shape` in f64, at batches 1 and 3,
/// - the forward output has the shape `output_shape` promises, and the summary's parameter
///   count is the parameters' element count;
/// - the f64 gradient check passes for the input and every parameter;
/// - weights saved and loaded into a network built with another seed give the same outputs,
///   bit for bit (save/load under the layer's Keras weight names);
/// - the config written as a spec's TOML table reads back as the same config;
/// - an input of another shape is either refused by `output_shape` and `forward` alike, naming
///   the layer, or accepted by both with the same output shape.
///
/// # Errors
/// The first check that fails, naming the layer and what differed.
pub fn check_layer(config: impl Into<super::LayerConfig>, input_shape: &[usize]) -> Result<()> {
    use super::{Network, Sequential};
    let config = config.into();
    let fail = |what: String| Err(crate::Error::invalid(format!("check_layer {config:?}"), what));
    let net = Sequential::<f64>::new(input_shape.to_vec(), 7).add(config.clone())?;
    let layer = net.each_layer()[0];
    let out_shape = layer.output_shape(&crate::Shape::new(input_shape))?;
    // An embedding reads token indices (whole numbers below input_dim, 0 included, so a
    // mask_zero layer sees padding); every other layer reads normal values.
    let tokens = match &config {
        super::LayerConfig::Embedding(c) => Some(c.input_dim),
        _ => None,
    };
    let sample = |dims: Vec<usize>, seed: u64| -> Result<Tensor<f64>> {
        match tokens {
            Some(vocab) => {
                let n: usize = dims.iter().product();
                Tensor::from_vec((0..n).map(|i| ((i as u64 * 7 + seed * 3) % vocab as u64) as f64).collect(), dims)
            }
            None => Tensor::<f64>::randn(dims, 0.0, 1.0, &mut seeded_rng(seed)),
        }
    };
    for batch in [1usize, 3] {
        let dims: Vec<usize> = std::iter::once(batch).chain(input_shape.iter().copied()).collect();
        let x = sample(dims, batch as u64)?;
        let y = layer.forward(&x, Mode::Infer)?;
        let want: Vec<usize> = std::iter::once(batch).chain(out_shape.dims().iter().copied()).collect();
        if y.dims() != want.as_slice() {
            return fail(format!("forward gave {:?}, output_shape promised {want:?}", y.dims()));
        }
        let report = gradcheck_layer_inputs(layer, &x, &GradcheckConfig::default(), tokens.is_none())?;
        if !report.passed {
            return fail(format!("the gradient check failed at batch {batch}: {report}"));
        }
    }
    let rows = net.summary_rows();
    let counted: usize = layer.params().iter().map(|p| p.numel()).sum();
    if rows.get(1).map(|r| r.params) != Some(counted) {
        return fail(format!(
            "the summary counts {:?} parameters, the layer holds {counted}",
            rows.get(1).map(|r| r.params)
        ));
    }
    // Save/load round trip into a differently seeded network.
    let dims: Vec<usize> = std::iter::once(3).chain(input_shape.iter().copied()).collect();
    let x = sample(dims, 11)?;
    let path = std::env::temp_dir().join(format!(
        "strata-check-layer-{}-{:?}.safetensors",
        std::process::id(),
        std::thread::current().id()
    ));
    crate::io::save_weights(&net, &path)?;
    let other = Sequential::<f64>::new(input_shape.to_vec(), 8).add(config.clone())?;
    let loaded = crate::io::load_weights(&other, &path);
    let _ = std::fs::remove_file(&path);
    loaded?;
    let (a, b) = (net.forward(&x, Mode::Infer)?, other.forward(&x, Mode::Infer)?);
    if a.data().iter().zip(b.data()).any(|(p, q)| p.to_bits() != q.to_bits()) {
        return fail("weights saved and loaded give other outputs".into());
    }
    // The config as a spec's layer table, and back.
    let text = match toml::to_string(&config) {
        Ok(text) => text,
        Err(e) => return fail(format!("the config has no spec form: {e}")),
    };
    match toml::from_str::<super::LayerConfig>(&text) {
        Ok(back) if back == config => {}
        Ok(back) => return fail(format!("its spec form\n{text}reads back as {back:?}")),
        Err(e) => return fail(format!("its spec form\n{text}does not read back: {e}")),
    }
    // Another input shape: refused alike by output_shape and forward, or accepted alike.
    let mut wrong = input_shape.to_vec();
    match wrong.last_mut() {
        Some(last) => *last += 1,
        None => wrong.push(2),
    }
    let wrong_x = Tensor::<f64>::zeros(std::iter::once(2).chain(wrong.iter().copied()).collect::<Vec<_>>());
    match (layer.output_shape(&crate::Shape::new(wrong.as_slice())), layer.forward(&wrong_x, Mode::Infer)) {
        (Err(_), Err(e)) if e.to_string().contains(layer.name()) => Ok(()),
        (Err(_), Err(e)) => fail(format!("the error for input {wrong:?} does not name the layer: {e}")),
        (Ok(shape), Ok(y)) if y.dims().get(1..) == Some(shape.dims()) => Ok(()),
        (shape, y) => fail(format!(
            "for input {wrong:?}, output_shape says {:?} but forward gives {:?}",
            shape.map(|s| s.dims().to_vec()),
            y.map(|y| y.dims().to_vec())
        )),
    }
}
