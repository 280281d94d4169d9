//! Step masks end to end: padding at the end of a sequence changes nothing downstream of an
//! `embedding` with `mask_zero` (recurrent layers one way and both ways, the masked mean of
//! `global_average_pooling1d`), compared with the same network on the unpadded sequence.

use strata::nn::{
    BidirectionalConfig, EmbeddingConfig, GlobalAveragePooling1DConfig, GruConfig, Layer, LayerConfig, LstmConfig,
    Mode, Network, Sequential,
};
use strata::Tensor;

/// The same layers for sequences of `steps` (weights do not depend on the length, so one seed
/// gives both networks the same ones).
fn net(steps: usize, layers: &[LayerConfig]) -> Sequential<f64> {
    let mut net = Sequential::<f64>::new([steps], 5).add(EmbeddingConfig::new(8, 3).mask_zero(true)).unwrap();
    for layer in layers {
        net.push(layer.clone()).unwrap();
    }
    net
}

fn assert_close(a: &[f64], b: &[f64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-12, "{what}: {a:?} against {b:?}");
    }
}

#[test]
fn padding_after_mask_zero_changes_nothing() {
    let cases: Vec<(&str, Vec<LayerConfig>)> = vec![
        ("lstm", vec![LstmConfig::new(4).into()]),
        ("gru backwards", vec![GruConfig::new(3).go_backwards(true).into()]),
        ("bidirectional lstm", vec![BidirectionalConfig::new(LstmConfig::new(2)).into()]),
        ("masked mean", vec![GlobalAveragePooling1DConfig::default().into()]),
        (
            "lstm sequences then masked mean",
            vec![LstmConfig::new(3).return_sequences(true).into(), GlobalAveragePooling1DConfig::default().into()],
        ),
    ];
    for (what, layers) in cases {
        let (short, padded) = (net(2, &layers), net(5, &layers));
        // Two sequences: [3, 5] and [6, 1]; the padded batch adds three zeros to each.
        let x = Tensor::<f64>::from_f64(&[3.0, 5.0, 6.0, 1.0], [2, 2]).unwrap();
        let xp = Tensor::<f64>::from_f64(&[3.0, 5.0, 0.0, 0.0, 0.0, 6.0, 1.0, 0.0, 0.0, 0.0], [2, 5]).unwrap();
        let (y, yp) = (short.forward(&x, Mode::Infer).unwrap(), padded.forward(&xp, Mode::Infer).unwrap());
        assert_close(&y.to_f64_vec(), &yp.to_f64_vec(), what);
        // Without the mask the padding would count: the check can fail.
        let unmasked = Sequential::<f64>::new([5], 5).add(EmbeddingConfig::new(8, 3)).unwrap();
        let mut unmasked = unmasked;
        for layer in &layers {
            unmasked.push(layer.clone()).unwrap();
        }
        let yu = unmasked.forward(&xp, Mode::Infer).unwrap();
        assert!(
            yu.to_f64_vec().iter().zip(y.to_f64_vec()).any(|(a, b)| (a - b).abs() > 1e-6),
            "{what}: padding had no effect unmasked"
        );
    }
    // The masked mean is the mean of the real steps' vectors.
    let table = net(2, &[]).named_params()[0].1.value().to_f64_vec();
    let mean = net(5, &[GlobalAveragePooling1DConfig::default().into()]);
    let y = mean.forward(&Tensor::<f64>::from_f64(&[3.0, 5.0, 0.0, 0.0, 0.0], [1, 5]).unwrap(), Mode::Infer).unwrap();
    let want: Vec<f64> = (0..3).map(|j| (table[3 * 3 + j] + table[5 * 3 + j]) / 2.0).collect();
    assert_close(&y.to_f64_vec(), &want, "masked mean by hand");
}

/// Long layer names ("global_average_pooling1d (GlobalAveragePooling1D)") widen the summary's
/// first column instead of running into the shape column: every shape starts in one column.
#[test]
fn the_summary_widens_for_long_names() {
    let net =
        net(4, &[LstmConfig::new(2).return_sequences(true).into(), GlobalAveragePooling1DConfig::default().into()]);
    let summary = net.summary();
    let starts: Vec<usize> = summary.lines().filter_map(|l| l.find("(None,")).collect();
    assert_eq!(starts.len(), 4, "{summary}");
    assert!(starts.iter().all(|&s| s == starts[0]), "{summary}");
    assert!(summary.contains("global_average_pooling1d (GlobalAveragePooling1D) (None, 2)"), "{summary}");
}
