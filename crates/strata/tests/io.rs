//! Weights files: save/load round trips, atomic replacement, and errors that name the tensor.

use strata::lectures;
use strata::loss::Loss;
use strata::nn::{Activation, DenseConfig, Layer, Sequential};
use strata::optim::{OptimizerConfig, Sgd};
use strata::train::{FitConfig, ModelCheckpoint};

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-io-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn weights_round_trip_and_predictions_match() {
    let dir = temp_dir("roundtrip");
    let path = dir.join("iris.safetensors");
    let run = lectures::iris_regression(3, 0).unwrap();
    run.model.save_weights(&path).unwrap();
    let mut fresh = lectures::iris_network(99)
        .unwrap()
        .compile(OptimizerConfig::Sgd(Sgd::new(0.01)), Loss::MeanSquaredError, &[])
        .unwrap();
    let (_, _, x_test, _) = strata::data::iris::lecture_regression_split::<f32>().unwrap();
    assert_ne!(fresh.predict(&x_test, 32).unwrap().to_vec(), run.model.predict(&x_test, 32).unwrap().to_vec());
    fresh.load_weights(&path).unwrap();
    assert_eq!(fresh.predict(&x_test, 32).unwrap().to_vec(), run.model.predict(&x_test, 32).unwrap().to_vec());
    // No temporary files are left beside it.
    let names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec!["iris.safetensors"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn mismatched_or_broken_files_are_refused_and_change_nothing() {
    let dir = temp_dir("bad");
    let small = Sequential::<f32>::new([2], 0).add(DenseConfig::new(3).name("a")).unwrap();
    let path = dir.join("small.safetensors");
    strata::io::save_weights(&small, &path).unwrap();

    let other = Sequential::<f32>::new([2], 1).add(DenseConfig::new(4).name("a")).unwrap();
    let before: Vec<Vec<f32>> = other.params().iter().map(|p| p.value().to_vec()).collect();
    let e = strata::io::load_weights(&other, &path).err().unwrap().to_string();
    assert!(
        e.contains("small.safetensors") && e.contains("'a.kernel'") && e.contains("[2, 3]") && e.contains("[2, 4]"),
        "{e}"
    );
    let after: Vec<Vec<f32>> = other.params().iter().map(|p| p.value().to_vec()).collect();
    assert_eq!(before, after, "a refused load changes nothing");

    let renamed = Sequential::<f32>::new([2], 0).add(DenseConfig::new(3).name("b")).unwrap();
    let e = strata::io::load_weights(&renamed, &path).err().unwrap().to_string();
    assert!(e.contains("unexpected tensor 'a.bias', 'a.kernel'"), "{e}");
    let wider = Sequential::<f32>::new([2], 0)
        .add(DenseConfig::new(3).name("a"))
        .unwrap()
        .add(DenseConfig::new(1).name("c"))
        .unwrap();
    let e = strata::io::load_weights(&wider, &path).err().unwrap().to_string();
    assert!(e.contains("missing tensor 'c.kernel'"), "{e}");
    let as_f64 = Sequential::<f64>::new([2], 0).add(DenseConfig::new(3).name("a")).unwrap();
    let e = strata::io::load_weights(&as_f64, &path).err().unwrap().to_string();
    assert!(e.contains("F32") && e.contains("f64"), "{e}");

    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 5]).unwrap();
    let e = strata::io::load_weights(&small, &cut).err().unwrap().to_string();
    assert!(e.contains("cut.safetensors") && e.contains("not a valid safetensors file"), "{e}");
    let e = strata::io::load_weights(&small, dir.join("absent.safetensors")).err().unwrap().to_string();
    assert!(e.contains("absent.safetensors"), "{e}");
    // Writing into a missing directory fails with the path named; nothing is created.
    let e = strata::io::save_weights(&small, dir.join("no/such/dir/w.safetensors")).err().unwrap().to_string();
    assert!(e.contains("no/such/dir/w.safetensors"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn checkpoint_saves_the_best_epoch_only() {
    let dir = temp_dir("ckpt");
    let path = dir.join("best.safetensors");
    let (x, y, xv, yv) = strata::data::iris::lecture_regression_split::<f32>().unwrap();
    let net = Sequential::new([2], 1)
        .add(DenseConfig::new(16).activation(Activation::Relu))
        .unwrap()
        .add(DenseConfig::new(2))
        .unwrap();
    let mut model = net.compile(OptimizerConfig::Sgd(Sgd::new(0.03)), Loss::MeanSquaredError, &[]).unwrap();
    let mut ckpt = ModelCheckpoint::best_only(&path, "val_loss");
    let config =
        FitConfig { epochs: 30, verbose: 0, validation_data: Some((xv.clone(), yv.clone())), ..FitConfig::default() };
    let history = model.fit_with_callbacks(&x, &y, &config, &mut [&mut ckpt]).unwrap();
    let val = history.get("val_loss").unwrap();
    let best_epoch = (0..val.len()).min_by(|&a, &b| val[a].total_cmp(&val[b])).unwrap();
    assert_eq!(*ckpt.saved_epochs.last().unwrap(), best_epoch);
    assert!(ckpt.saved_epochs.len() < 30);
    model.load_weights(&path).unwrap();
    let restored = model.evaluate(&xv, &yv, 32).unwrap()[0].1;
    assert!((restored - val[best_epoch]).abs() < 1e-6);
    std::fs::remove_dir_all(&dir).unwrap();
}
