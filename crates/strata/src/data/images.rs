//! Images from folders, as Keras's `image_dataset_from_directory`: one sub-folder per class
//! (its name is the class name; classes in alphabetical order, so the label of a folder does
//! not depend on the file system's listing order), PNG and JPEG files inside, each decoded to
//! grayscale or RGB and, when `image_size` is given, resized bilinearly (Keras's default
//! interpolation). Pixels stay in 0..=255, channels-last `[n, h, w, c]`, for the spec's
//! `scale` to map. Other files (a README, `.DS_Store`) are skipped, as Keras skips them.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::error::{Error, Result};
use crate::tensor::Tensor;
use std::path::{Path, PathBuf};

/// The channels an image is decoded to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorMode {
    /// One channel (luma).
    Grayscale,
    /// Three channels (Keras's default).
    #[default]
    Rgb,
}

impl ColorMode {
    /// Channels per pixel.
    pub fn channels(self) -> usize {
        match self {
            ColorMode::Grayscale => 1,
            ColorMode::Rgb => 3,
        }
    }
}

/// Largest width or height accepted from a file's header: a hostile header cannot make the
/// decoder reserve gigabytes.
pub const MAX_SIDE: u32 = 8192;

/// Images read from a folder of class folders.
#[derive(Debug)]
pub struct ImageFolder {
    /// Pixels in 0..=255, `[n, h, w, channels]`.
    pub x: Tensor<f32>,
    /// The class index of each image (its folder's position in `class_names`).
    pub labels: Vec<usize>,
    /// The class folders' names, alphabetical (or the order a trained model fixed).
    pub class_names: Vec<String>,
    /// Each image's file, in the order of `x`.
    pub files: Vec<PathBuf>,
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io { path: path.to_path_buf(), source }
}

fn is_image(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg"))
}

/// The visible entries of `dir`, sorted by name.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, e))? {
        let path = entry.map_err(|e| io_error(dir, e))?.path();
        if !path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
            entries.push(path);
        }
    }
    entries.sort();
    Ok(entries)
}

/// The class folders of `dir`, sorted: each sub-folder is a class.
pub fn class_folders(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let folders: Vec<(String, PathBuf)> = sorted_entries(dir)?
        .into_iter()
        .filter(|p| p.is_dir())
        .map(|p| (p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), p))
        .collect();
    if folders.is_empty() {
        return Err(Error::invalid(
            format!("images in {}", dir.display()),
            "no class folders: put each class's images in a sub-folder named after the class (dir/cat/1.png, dir/dog/2.jpg)",
        ));
    }
    Ok(folders)
}

/// Decode one image to `channels` channels, resized to `size` `(height, width)` when given.
fn decode(path: &Path, color: ColorMode, size: Option<[usize; 2]>) -> Result<(usize, usize, Vec<u8>)> {
    let bad = |message: String| Error::Parse { path: path.to_path_buf(), line: 0, message };
    let mut reader = image::io::Reader::open(path).map_err(|e| io_error(path, e))?;
    let mut limits = image::io::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(512 << 20);
    reader.limits(limits);
    let reader = reader.with_guessed_format().map_err(|e| io_error(path, e))?;
    let decoded = reader.decode().map_err(|e| bad(format!("not a readable PNG or JPEG image: {e}")))?;
    let decoded = match size {
        Some([h, w]) if (decoded.height() as usize, decoded.width() as usize) != (h, w) => {
            decoded.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle)
        }
        _ => decoded,
    };
    let (h, w) = (decoded.height() as usize, decoded.width() as usize);
    let pixels = match color {
        ColorMode::Grayscale => decoded.into_luma8().into_raw(),
        ColorMode::Rgb => decoded.into_rgb8().into_raw(),
    };
    Ok((h, w, pixels))
}

/// Read every image under `dir`'s class folders. `image_size` `[height, width]` resizes each;
/// without it every image must already have the first one's size. `classes`, when given (a
/// trained model's class names), fixes the label of each folder name, and a folder not among
/// them is an error.
///
/// # Errors
/// When `dir` has no class folders or no images, a file cannot be decoded (named), sizes differ
/// without `image_size`, a folder names a class the model does not know, or the images do not
/// fit in memory.
pub fn load_image_folder(
    dir: impl AsRef<Path>,
    image_size: Option<[usize; 2]>,
    color: ColorMode,
    classes: Option<&[String]>,
) -> Result<ImageFolder> {
    let dir = dir.as_ref();
    let what = format!("images in {}", dir.display());
    if let Some(size) = image_size.filter(|s| s.contains(&0) || s.iter().any(|&v| v > MAX_SIDE as usize)) {
        return Err(Error::invalid(what, format!("image_size {size:?} must be two sides in 1..={MAX_SIDE}")));
    }
    if !dir.is_dir() {
        return Err(io_error(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder of class folders"),
        ));
    }
    let folders = class_folders(dir)?;
    let class_names: Vec<String> = match classes {
        Some(names) => names.to_vec(),
        None => folders.iter().map(|(name, _)| name.clone()).collect(),
    };
    let mut files = Vec::new();
    let mut labels = Vec::new();
    for (name, folder) in &folders {
        let label = class_names.iter().position(|c| c == name).ok_or_else(|| {
            Error::invalid(what.clone(), format!("folder {name:?} is not one of the model's classes {class_names:?}"))
        })?;
        for file in sorted_entries(folder)?.into_iter().filter(|p| p.is_file() && is_image(p)) {
            files.push(file);
            labels.push(label);
        }
    }
    if files.is_empty() {
        return Err(Error::invalid(what, "the class folders hold no .png, .jpg or .jpeg files"));
    }
    let mut pixels: Vec<f32> = Vec::new();
    let mut shape: Option<(usize, usize)> = None;
    for file in &files {
        let (h, w, data) = decode(file, color, image_size)?;
        match shape {
            None => {
                let bytes = (files.len() as u64).saturating_mul((h * w * color.channels() * 4) as u64);
                crate::memory::check(&what, bytes, &format!("{} images of {h}x{w}", files.len()))?;
                pixels.reserve(files.len() * h * w * color.channels());
                shape = Some((h, w));
            }
            Some((h0, w0)) if (h0, w0) != (h, w) => {
                return Err(Error::invalid(
                    what,
                    format!(
                        "{} is {h}x{w} but the first image is {h0}x{w0}: set data.image_size = [height, width] to resize them all",
                        file.display()
                    ),
                ))
            }
            Some(_) => {}
        }
        pixels.extend(data.iter().map(|&v| f32::from(v)));
    }
    let (h, w) = shape.unwrap_or((0, 0));
    let x = Tensor::from_vec(pixels, [files.len(), h, w, color.channels()])?;
    Ok(ImageFolder { x, labels, class_names, files })
}
