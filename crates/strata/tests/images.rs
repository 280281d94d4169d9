//! Images from folders (`images:DIR`, Keras's `image_dataset_from_directory`): PNG and JPEG files
//! in one folder per class, decoded, resized and labelled by folder name; the errors a user
//! meets (no class folders, no images, an unreadable file, sizes that differ); and a small CNN
//! trained from a spec on such a folder, whose run directory gets the conv pictures.

use image::{GrayImage, Luma, RgbImage};
use std::path::{Path, PathBuf};
use strata::data::images::{load_image_folder, ColorMode};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("strata-images-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A stripes picture: horizontal stripes (class 0) or vertical ones (class 1), of `h x w`,
/// shifted by `phase` so no two are the same.
fn stripes(vertical: bool, h: u32, w: u32, phase: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| {
        let along = if vertical { x } else { y };
        Luma([if (along + phase) % 4 < 2 { 230 } else { 20 }])
    })
}

/// `count` images per class under `dir/horizontal` and `dir/vertical`, every third one a JPEG
/// (RGB), the others PNG (grayscale), in two sizes; plus a file that is not an image.
fn write_stripes(dir: &Path, count: u32) {
    for (vertical, class) in [(false, "horizontal"), (true, "vertical")] {
        let folder = dir.join(class);
        std::fs::create_dir_all(&folder).unwrap();
        for i in 0..count {
            let (h, w) = if i % 2 == 0 { (16, 16) } else { (12, 20) };
            let picture = stripes(vertical, h, w, i);
            if i % 3 == 0 {
                let rgb = RgbImage::from_fn(w, h, |x, y| {
                    let v = picture.get_pixel(x, y)[0];
                    image::Rgb([v, v, v])
                });
                rgb.save(folder.join(format!("{i:03}.jpg"))).unwrap();
            } else {
                picture.save(folder.join(format!("{i:03}.png"))).unwrap();
            }
        }
        std::fs::write(folder.join("notes.txt"), "not an image").unwrap();
    }
}

#[test]
fn a_folder_of_class_folders_reads_as_labelled_resized_images() {
    let dir = temp_dir("read");
    write_stripes(&dir, 6);
    let gray = load_image_folder(&dir, Some([8, 8]), ColorMode::Grayscale, None).unwrap();
    assert_eq!(gray.x.dims(), [12, 8, 8, 1]);
    assert_eq!(gray.class_names, ["horizontal", "vertical"]);
    assert_eq!(gray.labels, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    assert!(gray.files.iter().all(|f| f.extension().unwrap() != "txt"));
    assert!(gray.x.data().iter().all(|&v| (0.0..=255.0).contains(&v)));
    // Horizontal stripes vary down a column, not along a row (resizing keeps that).
    let first = &gray.x.data()[..64];
    let row_spread = (0..8)
        .map(|r| first[r * 8..r * 8 + 8].iter().fold(0f32, |m, &v| m.max((v - first[r * 8]).abs())))
        .fold(0f32, f32::max);
    let column: Vec<f32> = (0..8).map(|r| first[r * 8]).collect();
    let column_spread = column.iter().fold(0f32, |m, &v| m.max(v)) - column.iter().fold(255f32, |m, &v| m.min(v));
    assert!(row_spread < 40.0 && column_spread > 100.0, "rows {row_spread}, column {column_spread}");
    let rgb = load_image_folder(&dir, Some([10, 6]), ColorMode::Rgb, None).unwrap();
    assert_eq!(rgb.x.dims(), [12, 10, 6, 3]);
    // A trained model's class order fixes the labels; an unknown folder is refused.
    let fixed = ["vertical".to_string(), "horizontal".to_string()];
    let relabelled = load_image_folder(&dir, Some([8, 8]), ColorMode::Grayscale, Some(&fixed)).unwrap();
    assert_eq!(relabelled.labels[0], 1);
    let e = load_image_folder(&dir, Some([8, 8]), ColorMode::Grayscale, Some(&fixed[..1])).unwrap_err().to_string();
    assert!(e.contains("\"horizontal\"") && e.contains("not one of the model's classes"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_image_folders_get_errors_that_name_the_problem() {
    let dir = temp_dir("bad");
    let e = load_image_folder(&dir, None, ColorMode::Grayscale, None).unwrap_err().to_string();
    assert!(e.contains("no class folders"), "{e}");
    std::fs::create_dir_all(dir.join("cats")).unwrap();
    std::fs::write(dir.join("cats").join("readme.md"), "x").unwrap();
    let e = load_image_folder(&dir, None, ColorMode::Grayscale, None).unwrap_err().to_string();
    assert!(e.contains("no .png, .jpg or .jpeg files"), "{e}");
    stripes(false, 8, 8, 0).save(dir.join("cats").join("a.png")).unwrap();
    stripes(false, 9, 8, 0).save(dir.join("cats").join("b.png")).unwrap();
    let e = load_image_folder(&dir, None, ColorMode::Grayscale, None).unwrap_err().to_string();
    assert!(e.contains("b.png") && e.contains("9x8") && e.contains("8x8") && e.contains("image_size"), "{e}");
    std::fs::write(dir.join("cats").join("c.png"), b"\x89PNG\r\n\x1a\n broken").unwrap();
    let e = load_image_folder(&dir, Some([8, 8]), ColorMode::Grayscale, None).unwrap_err().to_string();
    assert!(e.contains("c.png") && e.contains("not a readable PNG or JPEG"), "{e}");
    let e = load_image_folder(&dir, Some([0, 8]), ColorMode::Grayscale, None).unwrap_err().to_string();
    assert!(e.contains("image_size [0, 8]"), "{e}");
    let e = load_image_folder(dir.join("missing"), None, ColorMode::Grayscale, None).unwrap_err().to_string();
    assert!(e.contains("missing") && e.contains("no such folder"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_cnn_trains_from_an_image_folder_spec_and_draws_its_filters_and_feature_maps() {
    let dir = temp_dir("fit");
    write_stripes(&dir.join("images"), 16);
    let spec = r#"
[data]
source = "images:images"
image_size = [8, 8]
color_mode = "grayscale"
scale = "divide:255"
test_split = 0.25
stratify = true
split_seed = 3

[model]
input_shape = [8, 8, 1]
layers = [
  { type = "conv2d", filters = 4, kernel_size = 3, activation = "relu" },
  { type = "max_pooling2d" },
  { type = "flatten" },
  { type = "dense", units = 2, activation = "softmax" },
]

[compile]
optimizer = { type = "adam", learning_rate = 0.02 }
loss = "sparse_categorical_crossentropy"
metrics = ["accuracy"]

[fit]
epochs = 40
batch_size = 8
seed = 1
verbose = 0
"#;
    let spec_path = dir.join("stripes.toml");
    std::fs::write(&spec_path, spec).unwrap();
    let options = strata::run::FitOptions { out: Some(dir.join("run")), ..Default::default() };
    let report = strata::run::fit_spec(&spec_path, &options).unwrap();
    assert_eq!(report.evaluated_on, "test");
    let accuracy = report.results.get("accuracy").unwrap();
    assert_eq!(accuracy, 1.0, "8 held-out stripes images: {:?}", report.results);
    for picture in ["filters.png", "feature_maps.png", "samples.png", "predictions.png", "confusion_matrix.png"] {
        let bytes = std::fs::read(report.run_dir.join(picture)).unwrap_or_else(|e| panic!("{picture}: {e}"));
        assert!(bytes.starts_with(b"\x89PNG"), "{picture}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
