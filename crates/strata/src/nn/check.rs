//! Gradient check of a whole layer in f64: its input and every parameter, against central
//! finite differences (public, so users can check the layers they write).

use super::{Layer, Mode};
use crate::autograd::{dot, no_grad, GradcheckConfig, GradcheckReport, ReportBuilder};
use crate::error::Result;
use crate::rng::seeded_rng;
use crate::tensor::Tensor;

/// Check `layer`'s gradients at `input` in `Mode::Infer` (deterministic). Position 0 of the
/// report is the input; position `k` is the `k`-th parameter in `params()` order.
///
/// # Errors
/// When the forward pass fails or a value is not finite.
pub fn gradcheck_layer(
    layer: &dyn Layer<f64>,
    input: &Tensor<f64>,
    config: &GradcheckConfig,
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
    for (j, &a) in analytic.iter().enumerate() {
        let shifted = |d: f64| -> Result<f64> {
            let mut data = input.to_vec();
            data[j] += d;
            objective(&Tensor::from_vec(data, input.shape().clone())?)
        };
        report.add((0, j), a, (shifted(config.eps)? - shifted(-config.eps)?) / (2.0 * config.eps));
    }
    for (k, param) in layer.params().iter().enumerate() {
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
