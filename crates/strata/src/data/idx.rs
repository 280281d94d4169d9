//! The IDX format of MNIST and Fashion-MNIST (`*-idx3-ubyte`, `*-idx1-ubyte`, plain or gzip).
//!
//! Header: two zero bytes, an element-type byte (0x08: unsigned byte), the number of dimensions,
//! then each dimension as a big-endian u32. Every size is checked before memory is reserved for
//! it: the data is read incrementally, so a header that declares more than the file holds fails
//! at the end of the file, not with a huge allocation. A large gzip stream is first decompressed
//! only to count its bytes, so a bomb that declares more than it holds never occupies memory.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::error::{Error, Result};
use crate::tensor::{Element, Tensor};
use flate2::read::GzDecoder;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Largest element count accepted from a header (4 GiB of bytes): far above any IDX dataset.
pub const MAX_ELEMENTS: usize = 1 << 32;

/// Gzip IDX files declaring more bytes than this are decompressed twice, first only to count, so
/// a hostile one never occupies more than this (Fashion-MNIST's largest file, 44.9 MiB, is read
/// in one pass).
pub const SINGLE_PASS_BYTES: usize = 48 << 20;

/// An IDX array of unsigned bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// Dimensions from the header.
    pub dims: Vec<usize>,
    /// The elements, row-major.
    pub data: Vec<u8>,
}

fn parse_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Parse { path: path.to_path_buf(), line: 0, message: message.into() }
}

/// Read an IDX file, gzip-compressed or not (detected from its first bytes).
///
/// # Errors
/// When the file is missing, truncated, not IDX (wrong magic), of an element type other than
/// unsigned byte, or declares sizes that overflow or exceed [`MAX_ELEMENTS`].
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    read_idx_from(path, BufReader::new(file))
}

/// [`read_idx`] from any reader (`origin` names it in errors): gzip is detected from the first
/// two bytes.
///
/// # Errors
/// As [`read_idx`].
pub fn read_idx_from(path: &Path, mut reader: impl Read) -> Result<IdxArray> {
    let mut magic = [0u8; 2];
    let n =
        read_up_to(&mut reader, &mut magic).map_err(|e| parse_error(path, format!("cannot read the header: {e}")))?;
    let head = std::io::Cursor::new(magic.get(..n).unwrap_or_default().to_vec());
    if n == 2 && magic == [0x1f, 0x8b] {
        // A stream that declares more than it holds (a gzip bomb cut short) must be refused
        // without holding what it decompresses to. Up to SINGLE_PASS_BYTES that costs nothing
        // (reading stops at the declared size); above, a first pass only counts the bytes.
        let mut compressed = Vec::new();
        head.chain(reader)
            .read_to_end(&mut compressed)
            .map_err(|e| parse_error(path, format!("cannot read the file: {e}")))?;
        let (dims, count) = read_header(path, &mut GzDecoder::new(compressed.as_slice()))?;
        if count > SINGLE_PASS_BYTES {
            let mut decoder = GzDecoder::new(compressed.as_slice());
            let total =
                std::io::copy(&mut decoder.by_ref().take(header_len(&dims) + count as u64), &mut std::io::sink())
                    .map_err(|e| parse_error(path, format!("cannot decompress: {e}")))?;
            check_count(path, &dims, count, total.saturating_sub(header_len(&dims)) as usize)?;
        }
        read_idx_stream(path, GzDecoder::new(compressed.as_slice()))
    } else {
        read_idx_stream(path, head.chain(reader))
    }
}

/// Bytes of an IDX header with these dimensions.
fn header_len(dims: &[usize]) -> u64 {
    4 + 4 * dims.len() as u64
}

fn check_count(path: &Path, dims: &[usize], count: usize, held: usize) -> Result<()> {
    if held == count {
        Ok(())
    } else {
        Err(parse_error(
            path,
            format!("truncated data: the header declares {dims:?} = {count} bytes, the file holds {held}"),
        ))
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        let Some(rest) = buf.get_mut(filled..) else { break };
        match r.read(rest)? {
            0 => break,
            k => filled += k,
        }
    }
    Ok(filled)
}

/// Parse IDX from any byte stream (`path` only names it in errors).
///
/// # Errors
/// As [`read_idx`].
pub fn read_idx_stream(path: &Path, mut r: impl Read) -> Result<IdxArray> {
    let (dims, count) = read_header(path, &mut r)?;
    let mut data = Vec::new();
    // `take` bounds the read; the vector grows only as bytes actually arrive.
    r.by_ref()
        .take(count as u64)
        .read_to_end(&mut data)
        .map_err(|e| parse_error(path, format!("cannot read the data: {e}")))?;
    check_count(path, &dims, count, data.len())?;
    Ok(IdxArray { dims, data })
}

/// The header's dimensions and their product, checked.
fn read_header(path: &Path, r: &mut impl Read) -> Result<(Vec<usize>, usize)> {
    let mut header = [0u8; 4];
    let got = read_up_to(r, &mut header).map_err(|e| parse_error(path, format!("cannot read the header: {e}")))?;
    if got < 4 {
        return Err(parse_error(path, format!("truncated header: {got} of 4 bytes")));
    }
    if header[0] != 0 || header[1] != 0 {
        return Err(parse_error(
            path,
            format!(
                "not an IDX file: magic number 0x{:02x}{:02x}{:02x}{:02x}",
                header[0], header[1], header[2], header[3]
            ),
        ));
    }
    if header[2] != 0x08 {
        return Err(parse_error(
            path,
            format!("element type 0x{:02x} is not supported (only 0x08, unsigned byte)", header[2]),
        ));
    }
    let rank = usize::from(header[3]);
    if rank == 0 {
        return Err(parse_error(path, "the header declares 0 dimensions"));
    }
    let mut dims = Vec::with_capacity(rank);
    let mut count: usize = 1;
    for i in 0..rank {
        let mut d = [0u8; 4];
        if read_up_to(r, &mut d).map_err(|e| parse_error(path, e.to_string()))? < 4 {
            return Err(parse_error(path, format!("truncated header: dimension {i} of {rank} missing")));
        }
        let d = u32::from_be_bytes(d) as usize;
        count = count.checked_mul(d).filter(|&c| c <= MAX_ELEMENTS).ok_or_else(|| {
            parse_error(
                path,
                format!("declared dimensions {:?}... exceed {MAX_ELEMENTS} elements", [dims.clone(), vec![d]].concat()),
            )
        })?;
        dims.push(d);
    }
    Ok((dims, count))
}

/// Fashion-MNIST's class names, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// An image dataset split into training and test sets; pixels scaled to [0, 1].
pub struct ImageDataset<T: Element = f32> {
    /// `[n, rows, cols]` pixels / 255.
    pub x_train: Tensor<T>,
    /// `[n]` labels.
    pub y_train: Tensor<T>,
    /// `[m, rows, cols]` pixels / 255.
    pub x_test: Tensor<T>,
    /// `[m]` labels.
    pub y_test: Tensor<T>,
    /// Names of the classes, by label.
    pub class_names: Vec<String>,
}

/// Load a directory laid out like the official MNIST / Fashion-MNIST distribution, pixels / 255
/// (`train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, `t10k-...`).
///
/// # Errors
/// When a file is missing or malformed, or images and labels disagree in count.
pub fn load_mnist_dir<T: Element>(dir: impl AsRef<Path>) -> Result<ImageDataset<T>> {
    load_mnist_scaled(dir.as_ref(), 255.0)
}

/// [`load_mnist_dir`] with the raw pixel values 0..=255 (for a scaler of one's own).
///
/// # Errors
/// As [`load_mnist_dir`].
pub fn load_mnist_dir_raw<T: Element>(dir: impl AsRef<Path>) -> Result<ImageDataset<T>> {
    load_mnist_scaled(dir.as_ref(), 1.0)
}

fn load_mnist_scaled<T: Element>(dir: &Path, divisor: f64) -> Result<ImageDataset<T>> {
    let (x_train, y_train) = load_pair(dir, "train", divisor)?;
    let (x_test, y_test) = load_pair(dir, "t10k", divisor)?;
    Ok(ImageDataset {
        x_train,
        y_train,
        x_test,
        y_test,
        class_names: FASHION_MNIST_CLASSES.iter().map(|s| s.to_string()).collect(),
    })
}

fn find(dir: &Path, stem: &str) -> Result<PathBuf> {
    let plain = dir.join(stem);
    let gz = dir.join(format!("{stem}.gz"));
    let hint = if dir.is_dir() {
        "neither the file nor its .gz exists"
    } else {
        // The usual first mistake: the data was never downloaded.
        "the folder does not exist; download the data with `strata fetch fashion-mnist --dir DIR` (or mnist) and pass --data DIR/fashion-mnist"
    };
    [gz, plain.clone()]
        .into_iter()
        .find(|p| p.exists())
        .ok_or_else(|| Error::Io { path: plain, source: std::io::Error::new(std::io::ErrorKind::NotFound, hint) })
}

fn load_pair<T: Element>(dir: &Path, split: &str, divisor: f64) -> Result<(Tensor<T>, Tensor<T>)> {
    let images_path = find(dir, &format!("{split}-images-idx3-ubyte"))?;
    let labels_path = find(dir, &format!("{split}-labels-idx1-ubyte"))?;
    let images = read_idx(&images_path)?;
    let labels = read_idx(&labels_path)?;
    if images.dims.len() != 3 {
        return Err(parse_error(
            &images_path,
            format!("expected 3 dimensions (images, rows, cols), got {:?}", images.dims),
        ));
    }
    let count = images.dims.first().copied().unwrap_or(0);
    if labels.dims != [count] {
        return Err(parse_error(
            &labels_path,
            format!("expected {count} labels to match the images, got dimensions {:?}", labels.dims),
        ));
    }
    // A 256-entry table: one multiply per distinct byte instead of one per pixel.
    let table: [T; 256] = std::array::from_fn(|b| T::of(b as f64 / divisor));
    let x = Tensor::from_vec(
        images.data.iter().map(|&b| table.get(usize::from(b)).copied().unwrap_or_else(T::zero)).collect(),
        images.dims,
    )?;
    let y = Tensor::from_vec(labels.data.iter().map(|&b| T::of(f64::from(b))).collect(), labels.dims)?;
    Ok((x, y))
}
