//! Built-in data and the IDX reader: real files written by the tests, the bad-input catalogue,
//! and Fashion-MNIST when `../shared/data/fashion-mnist` exists.

use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::path::{Path, PathBuf};
use strata::data::idx::{load_mnist_dir, read_idx};
use strata::data::iris;
use strata::Tensor;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-test-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 0x08, dims.len() as u8];
    for d in dims {
        b.extend_from_slice(&d.to_be_bytes());
    }
    b.extend_from_slice(data);
    b
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn iris_matches_the_classic_data() {
    let (x, y) = iris::load::<f64>().unwrap();
    assert_eq!((x.dims(), y.dims()), (&[150, 4][..], &[150][..]));
    // Per-class means of each feature, to 3 decimals (Fisher's data as in scikit-learn).
    let want = [[5.006, 3.428, 1.462, 0.246], [5.936, 2.770, 4.260, 1.326], [6.588, 2.974, 5.552, 2.026]];
    for (class, means) in want.iter().enumerate() {
        let rows: Vec<usize> = (0..150).filter(|&r| y.data()[r] == class as f64).collect();
        assert_eq!(rows.len(), 50);
        for (f, m) in means.iter().enumerate() {
            let mean = rows.iter().map(|&r| x.data()[r * 4 + f]).sum::<f64>() / 50.0;
            assert!((mean - m).abs() < 5e-4, "class {class} feature {f}: {mean}");
        }
    }
    let (xtr, ytr, xte, yte) = iris::lecture_regression_split::<f32>().unwrap();
    assert_eq!(
        (xtr.dims(), ytr.dims(), xte.dims(), yte.dims()),
        (&[120, 2][..], &[120, 2][..], &[30, 2][..], &[30, 2][..])
    );
    // scikit-learn's split puts row 73 first in the test set: [6.1, 2.8, 4.7, 1.2].
    assert_eq!(xte.data()[..2], [6.1, 2.8]);
    assert_eq!(yte.data()[..2], [4.7, 1.2]);
}

#[test]
fn idx_files_plain_and_gzip() {
    let dir = temp_dir("idx");
    let bytes = idx_bytes(&[2, 2, 3], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255]);
    std::fs::write(dir.join("a-idx3-ubyte"), &bytes).unwrap();
    std::fs::write(dir.join("a-idx3-ubyte.gz"), gzip(&bytes)).unwrap();
    for name in ["a-idx3-ubyte", "a-idx3-ubyte.gz"] {
        let arr = read_idx(dir.join(name)).unwrap();
        assert_eq!(arr.dims, vec![2, 2, 3]);
        assert_eq!(arr.data[11], 255);
    }
    // A whole directory in the MNIST layout.
    std::fs::write(dir.join("train-images-idx3-ubyte.gz"), gzip(&bytes)).unwrap();
    std::fs::write(dir.join("train-labels-idx1-ubyte"), idx_bytes(&[2], &[3, 9])).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), idx_bytes(&[1, 2, 3], &[0, 51, 102, 153, 204, 255])).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte.gz"), gzip(&idx_bytes(&[1], &[4]))).unwrap();
    let d = load_mnist_dir::<f32>(&dir).unwrap();
    assert_eq!(d.x_train.dims(), &[2, 2, 3]);
    assert_eq!(d.y_train.to_vec(), vec![3.0, 9.0]);
    assert_eq!(d.x_test.to_vec(), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    assert_eq!(d.class_names[9], "Ankle boot");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn error_of(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let e = read_idx(&path).err().unwrap_or_else(|| panic!("{name} was accepted")).to_string();
    assert!(e.contains(name), "the message names the file: {e}");
    e
}

#[test]
fn bad_idx_files_are_clear_errors() {
    let dir = temp_dir("idx-bad");
    let good = idx_bytes(&[10, 28, 28], &[7u8; 7840]);
    assert!(error_of(&dir, "truncated", &good[..5000]).contains("truncated data"));
    assert!(error_of(&dir, "short-header", &good[..7]).contains("truncated header"));
    assert!(error_of(&dir, "empty", &[]).contains("truncated header"));
    assert!(error_of(&dir, "magic", &[0x50, 0x4b, 3, 4, 0, 0, 0, 0]).contains("magic number 0x504b0304"));
    assert!(error_of(&dir, "float-type", &[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]).contains("element type 0x0d"));
    // 2^40 bytes declared: refused from the header, before any allocation.
    let huge = idx_bytes(&[1 << 20, 1 << 20], &[1, 2, 3]);
    let e = error_of(&dir, "huge", &huge);
    assert!(e.contains("exceed"), "{e}");
    // Declared larger than present (within the cap): read incrementally, then refused.
    let e = error_of(&dir, "more-declared", &idx_bytes(&[1 << 30], &[1, 2, 3]));
    assert!(e.contains("truncated data") && e.contains("1073741824"), "{e}");
    // A gzip stream cut in the middle.
    let gz = gzip(&good);
    assert!(!error_of(&dir, "cut.gz", &gz[..gz.len() / 2]).is_empty());
    let missing = load_mnist_dir::<f32>(dir.join("nowhere")).err().unwrap().to_string();
    assert!(missing.contains("train-images-idx3-ubyte"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fashion_mnist_from_shared_data() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fashion-mnist");
    if !dir.exists() {
        eprintln!("skipped: {} is absent", dir.display());
        return;
    }
    let start = std::time::Instant::now();
    let d = load_mnist_dir::<f32>(&dir).unwrap();
    eprintln!("loaded Fashion-MNIST in {:.2}s", start.elapsed().as_secs_f64());
    assert_eq!(d.x_train.dims(), &[60000, 28, 28]);
    assert_eq!(d.x_test.dims(), &[10000, 28, 28]);
    for (labels, per_class) in [(&d.y_train, 6000), (&d.y_test, 1000)] {
        let mut counts = [0usize; 10];
        labels.data().iter().for_each(|&l| counts[l as usize] += 1);
        assert_eq!(counts, [per_class; 10]);
    }
    let mean = d.x_train.data().iter().map(|&v| f64::from(v)).sum::<f64>() / d.x_train.numel() as f64;
    assert!((mean - 0.2861).abs() < 1e-3, "train pixel mean {mean}");
}

fn csv_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn csv_with_header_string_labels_and_missing_values() {
    use strata::data::table::{Missing, Table};
    let dir = temp_dir("csv");
    let path = csv_file(&dir, "pets.csv", "weight,height,kind\n4.5,30,cat\n30,60,dog\n,25,cat\n5.0,28,cat\n");
    let e = Table::from_csv(&path, true, Missing::Error).err().unwrap().to_string();
    assert!(e.contains("pets.csv:4") && e.contains("missing value") && e.contains("weight"), "{e}");
    let t = Table::from_csv(&path, true, Missing::Drop).unwrap();
    assert_eq!(t.rows.len(), 3);
    assert_eq!(t.categories[2], Some(vec!["cat".to_string(), "dog".to_string()]));
    let y = t.select::<f32>(&["kind".into()], &[0, 1, 2]).unwrap();
    assert_eq!(y.to_vec(), vec![0.0, 1.0, 0.0]);
    // Columns by index, and without a header.
    let x = t.select::<f32>(&["#1".into()], &[0, 1]).unwrap();
    assert_eq!(x.to_vec(), vec![30.0, 60.0]);
    let plain = csv_file(&dir, "plain.csv", "1,2\n3,4\n");
    let t = Table::from_csv(&plain, false, Missing::Error).unwrap();
    assert_eq!(t.columns, vec!["column_1", "column_2"]);
    assert_eq!(t.rows, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_csv_files_are_clear_errors() {
    use strata::data::table::{Missing, Table};
    let dir = temp_dir("csv-bad");
    let err = |name: &str, text: &str| {
        let p = csv_file(&dir, name, text);
        let e =
            Table::from_csv(&p, true, Missing::Error).err().unwrap_or_else(|| panic!("{name} accepted")).to_string();
        assert!(e.contains(name), "names the file: {e}");
        e
    };
    let e = err("ragged.csv", "a,b\n1,2\n3\n");
    assert!(e.contains("ragged.csv:3") && e.contains("ragged row"), "{e}");
    let e = err("text.csv", "a,b\n1,2\n3,abc\n");
    assert!(e.contains("text.csv:3") && e.contains("\"b\"") && e.contains("\"abc\" is not a number"), "{e}");
    let e = err("empty.csv", "");
    assert!(e.contains("no data rows"), "{e}");
    let e = err("header-only.csv", "a,b\n");
    assert!(e.contains("no data rows"), "{e}");
    let t = Table::from_csv(csv_file(&dir, "ok.csv", "a,b\n1,2\n"), true, Missing::Error).unwrap();
    let e = t.select::<f32>(&["c".into()], &[0]).err().unwrap().to_string();
    assert!(e.contains("no column \"c\"") && e.contains("a, b"), "{e}");
    let e = Table::from_csv(dir.join("absent.csv"), true, Missing::Error).err().unwrap().to_string();
    assert!(e.contains("absent.csv"), "{e}");
    for bad in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        let e = strata::data::preprocess::train_test_split(10, bad, 0, None).err().unwrap().to_string();
        assert!(e.contains("test fraction must be in (0, 1)"), "{e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_classifier_refuses_targets_of_a_single_class() {
    use strata::prelude::*;
    let x = Tensor::<f32>::zeros([4, 2]);
    let y = Tensor::<f32>::from_f64(&[2.0, 2.0, 2.0, 2.0], [4]).unwrap();
    let net = Sequential::new([2], 0).add(DenseConfig::new(3).activation(Activation::Softmax)).unwrap();
    let mut model = net
        .compile(
            OptimizerConfig::from_name("adam").unwrap(),
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            &[],
        )
        .unwrap();
    let e = model.fit(&x, &y, &FitConfig { verbose: 0, ..FitConfig::default() }).err().unwrap().to_string();
    assert!(e.contains("same class (2)") && e.contains("at least two classes"), "{e}");
}

#[test]
fn split_and_scalers() {
    use strata::data::preprocess::{train_test_split, Scaler};
    let (train, test) = train_test_split(100, 0.2, 3, None).unwrap();
    assert_eq!((train.len(), test.len()), (80, 20));
    let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
    assert_eq!(train_test_split(100, 0.2, 3, None).unwrap(), (train, test), "seeded");
    let labels: Vec<usize> = (0..100).map(|i| usize::from(i >= 90)).collect();
    let (_, test) = train_test_split(100, 0.2, 0, Some(&labels)).unwrap();
    assert_eq!(test.iter().filter(|&&r| labels[r] == 1).count(), 2, "10% of the test set is class 1, as in the data");

    let x = Tensor::<f64>::from_f64(&[1.0, 10.0, 3.0, 30.0], [2, 2]).unwrap();
    let s = Scaler::fit("standardize", &x).unwrap();
    assert_eq!(s.transform(&x).unwrap().to_vec(), vec![-1.0, -1.0, 1.0, 1.0]);
    let m = Scaler::fit("minmax", &x).unwrap();
    assert_eq!(m.transform(&x).unwrap().to_vec(), vec![0.0, 0.0, 1.0, 1.0]);
    assert_eq!(Scaler::fit("divide:255", &x).unwrap().transform(&x).unwrap().to_vec()[1], 10.0 / 255.0);
    assert!(Scaler::fit("divide:0", &x).err().unwrap().to_string().contains("divide:0"));
    assert!(s.transform(&Tensor::<f64>::zeros([2, 3])).err().unwrap().to_string().contains("fitted on 2 features"));
}

#[test]
fn augmentation_is_seeded_and_does_what_it_says() {
    use strata::data::augment::Augmentation;
    use strata::rng::seeded_rng;
    // A 3 x 4 image with a bright column at the left edge.
    let image = Tensor::<f32>::from_f64(&[1., 0., 0., 0., 1., 0., 0., 0., 1., 0., 0., 0.], [1, 3, 4]).unwrap();
    let flip = Augmentation { flip_horizontal: 1.0, ..Augmentation::default() };
    let flipped = flip.apply(&image, &mut seeded_rng(0)).unwrap();
    assert_eq!(flipped.to_vec(), vec![0., 0., 0., 1., 0., 0., 0., 1., 0., 0., 0., 1.]);
    assert_eq!(Augmentation::default().apply(&image, &mut seeded_rng(0)).unwrap().to_vec(), image.to_vec());

    let all =
        Augmentation { flip_horizontal: 0.5, rotation: 15.0, shift: 0.1, zoom: 0.1, brightness: 0.1, noise: 0.05 };
    let batch = Tensor::<f32>::rand_uniform([8, 28, 28], 0.0, 1.0, &mut seeded_rng(1)).unwrap();
    let a = all.apply(&batch, &mut seeded_rng(5)).unwrap();
    assert_eq!(a.to_vec(), all.apply(&batch, &mut seeded_rng(5)).unwrap().to_vec(), "seeded");
    assert_ne!(a.to_vec(), batch.to_vec());
    assert_eq!(a.dims(), batch.dims());

    let noise = Augmentation { noise: 0.5, ..Augmentation::default() };
    let table = Tensor::<f64>::zeros([2000, 5]);
    let noisy = noise.apply(&table, &mut seeded_rng(2)).unwrap();
    let std = (noisy.data().iter().map(|v| v * v).sum::<f64>() / noisy.numel() as f64).sqrt();
    assert!((std - 0.5).abs() < 0.02, "noise std {std}");
    let e = Augmentation { rotation: 5.0, ..Augmentation::default() }
        .apply(&table, &mut seeded_rng(0))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("images"), "{e}");
    assert!(Augmentation { zoom: -1.0, ..Augmentation::default() }
        .validate()
        .err()
        .unwrap()
        .to_string()
        .contains("zoom"));
}

#[test]
fn fit_trains_on_augmented_batches() {
    use strata::data::augment::Augmentation;
    use strata::prelude::*;
    let (x, y, xv, yv) = iris::lecture_regression_split::<f32>().unwrap();
    let train = |augment: Option<Augmentation>| {
        let mut model = strata::lectures::iris_network(0)
            .unwrap()
            .compile(OptimizerConfig::Sgd(Sgd::new(0.01)), Loss::MeanSquaredError, &[])
            .unwrap();
        let config = FitConfig {
            epochs: 30,
            verbose: 0,
            augment,
            validation_data: Some((xv.clone(), yv.clone())),
            ..FitConfig::default()
        };
        model.fit(&x, &y, &config).unwrap()
    };
    let plain = train(None);
    let noisy = train(Some(Augmentation { noise: 0.05, ..Augmentation::default() }));
    assert_ne!(plain.get("loss"), noisy.get("loss"));
    assert_eq!(
        noisy.get("loss"),
        train(Some(Augmentation { noise: 0.05, ..Augmentation::default() })).get("loss"),
        "reproducible"
    );
    assert!(noisy.get("val_loss").unwrap()[29] < noisy.get("val_loss").unwrap()[0]);
}
