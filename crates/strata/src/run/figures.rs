//! The figures a run directory gets besides its learning curves.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

/// The figures a run's data calls for: a scatter of 2-feature data coloured by class, the
/// decision regions of a 2-input classifier, and for images a grid of samples and of test
/// predictions.
pub(super) fn write_figures(run_dir: &Path, data: &Prepared, model: &Model<f32>) -> Result<()> {
    let classes_of = |x: &Tensor<f32>| -> Result<Vec<usize>> {
        let p = model.predict(x, 1024)?;
        Ok(if p.dims().get(1) == Some(&1) {
            p.data().iter().map(|&v| usize::from(v > 0.5)).collect()
        } else {
            crate::train::metrics::argmax_rows(&p)?
        })
    };
    let classifier = model.loss().is_classifier();
    if let (Some((labels, names)), [f0, f1]) = (&data.colors, data.feature_names.as_slice()) {
        let mut panels = vec![("Input variables X", &data.x_train_raw, [f0.as_str(), f1.as_str()])];
        if let (false, [t0, t1]) = (classifier, data.target_names.as_slice()) {
            panels.push(("Output variables Y", &data.y_train, [t0.as_str(), t1.as_str()]));
        }
        crate::plot::scatter_by_class(&panels, labels, names, &run_dir.join("data.png"))?;
        if classifier {
            let predict = |g: &Tensor<f32>| classes_of(&data.scaler.transform(g)?);
            crate::plot::decision_regions(
                &data.x_train_raw,
                labels,
                names,
                [f0, f1],
                predict,
                &run_dir.join("decision_regions.png"),
            )?;
        }
    }
    let image_like = crate::plot::image_batch(data.x_train.dims()).is_some();
    if let (true, Some(names)) = (image_like, &data.class_names) {
        let name = |v: f32| names.get(v as usize).cloned().unwrap_or_else(|| v.to_string());
        let shown = data.x_train.dims()[0].min(25);
        let samples = data.x_train.slice_batch(0, shown)?;
        let captions: Vec<String> = data.y_train.data()[..shown].iter().map(|&v| name(v)).collect();
        crate::plot::image_grid(
            &samples,
            &captions,
            "Training images and their classes",
            &[],
            &run_dir.join("samples.png"),
        )?;
        if let Some((x, y)) = &data.test {
            let shown = x.dims()[0].min(25);
            let images = x.slice_batch(0, shown)?;
            let predicted = classes_of(&images)?;
            let pairs: Vec<(usize, usize)> = predicted.iter().zip(y.data()).map(|(&p, &t)| (p, t as usize)).collect();
            let captions: Vec<String> =
                pairs.iter().map(|&(p, t)| format!("{} / {}", name(p as f32), name(t as f32))).collect();
            let wrong: Vec<bool> = pairs.iter().map(|(p, t)| p != t).collect();
            let errors = wrong.iter().filter(|&&w| w).count();
            let title = format!("Test images: predicted / true ({errors} of {shown} wrong, in red)");
            crate::plot::image_grid(&images, &captions, &title, &wrong, &run_dir.join("predictions.png"))?;
        }
    }
    conv_figures(run_dir, data, model)?;
    if let Some((x, y)) = &data.test {
        if classifier {
            let (matrix, names) = confusion_of(model, x, y, data.class_names.as_deref(), 1024)?;
            crate::plot::confusion_matrix(&matrix, &names, &run_dir.join("confusion_matrix.png"))?;
        } else {
            let predicted = model.predict(x, 1024)?;
            if predicted.shape() == y.shape() && predicted.rank() == 2 {
                crate::plot::predicted_vs_true(
                    &predicted,
                    y,
                    &data.target_names,
                    &run_dir.join("predicted_vs_true.png"),
                )?;
            }
        }
    }
    Ok(())
}

/// For a network with conv layers: `filters.png` (the first conv layer's kernels) and
/// `feature_maps.png` (each conv layer's output for the first test image, or the first training
/// image without a test set). The maps need the layers to run as a chain; a network with
/// branches gets the filters only.
fn conv_figures(run_dir: &Path, data: &Prepared, model: &Model<f32>) -> Result<()> {
    let layers = model.network().each_layer();
    let is_conv = |l: &dyn crate::nn::Layer<f32>| l.kind() == "Conv2D";
    let Some(first) = layers.iter().find(|l| is_conv(**l)) else { return Ok(()) };
    if let Some(kernel) = first.params().first().filter(|p| p.name() == "kernel" && p.shape().rank() == 4) {
        crate::plot::filters(&kernel.value(), first.name(), &run_dir.join("filters.png"))?;
    }
    let (x, y) = data.test.as_ref().map_or((&data.x_train, &data.y_train), |(x, y)| (x, y));
    if x.rank() != 4 || x.dims()[0] == 0 {
        return Ok(());
    }
    let image = x.slice_batch(0, 1)?;
    let _guard = crate::autograd::no_grad();
    let mut h = image.clone();
    let mut maps = Vec::new();
    for layer in &layers {
        h = match layer.forward(&h, crate::nn::Mode::Infer) {
            Ok(out) => out,
            Err(_) => return Ok(()),
        };
        if is_conv(*layer) && h.rank() == 4 {
            maps.push((layer.name().to_string(), h.clone()));
        }
    }
    // The image's class: a label, or the hot column of a one-hot row.
    let first_row = &y.data()[..y.dims().get(1).copied().unwrap_or(1).min(y.numel())];
    let label = match first_row {
        [v] => Some(*v as usize),
        row => row.iter().position(|&v| v == 1.0),
    };
    let caption = match (label, &data.class_names) {
        (Some(l), Some(names)) => names.get(l).cloned().unwrap_or_else(|| format!("class {l}")),
        (Some(l), None) => format!("class {l}"),
        (None, _) => "class unknown".to_string(),
    };
    crate::plot::feature_maps(&image, &maps, &caption, &run_dir.join("feature_maps.png"))
}
