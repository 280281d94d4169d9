//! Files: atomic replacement (temporary file, fsync, rename, directory fsync), so a crash never
//! leaves a half-written file in place of a good one.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

/// Test hook: with this environment variable set, [`write_atomic`] writes in place like a naive
/// writer, so the crash test can show that it detects torn files. Never set it otherwise.
pub const UNSAFE_IN_PLACE_WRITES: &str = "STRATA_UNSAFE_IN_PLACE_WRITES";

/// Remove the temporary files a killed writer left in `dir` (`.<name>.<pid>.tmp`); the files
/// at their final names are whole, so only these can be stale.
///
/// # Errors
/// When the directory cannot be listed or a file cannot be removed.
pub fn remove_stale_temporaries(dir: &Path) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".tmp") {
            fs::remove_file(entry.path()).map_err(|source| Error::Io { path: entry.path(), source })?;
        }
    }
    Ok(())
}

/// Write `bytes` to `path` atomically: readers see the old content or the new, never a mix.
///
/// # Errors
/// When the directory is missing or read-only, or the disk is full; the old file stays intact
/// and the error names the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |file| {
        file.write_all(bytes).map_err(|source| Error::Io { path: path.to_path_buf(), source })
    })
}

/// [`write_atomic`] for content produced as a stream: `write` fills the temporary file, which
/// replaces `path` only when `write` succeeded (an error leaves the old file and no temporary).
///
/// # Errors
/// As [`write_atomic`], and `write`'s own.
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name =
        path.file_name().ok_or_else(|| Error::invalid("write", format!("{} is not a file path", path.display())))?;
    if std::env::var_os(UNSAFE_IN_PLACE_WRITES).is_some() {
        let mut file = std::io::BufWriter::new(File::create(path).map_err(io)?);
        write(&mut file)?;
        return file.flush().map_err(io);
    }
    let tmp = dir.join(format!(".{}.{}.tmp", file_name.to_string_lossy(), std::process::id()));
    let result = (|| -> Result<()> {
        let mut file = std::io::BufWriter::new(File::create(&tmp).map_err(io)?);
        write(&mut file)?;
        let file = file.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, path).map_err(io)?;
        // The rename is durable only once the directory entry is.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

use crate::nn::Network;
use crate::tensor::{Element, Tensor};
use safetensors::{Dtype, SafeTensors};

/// Largest safetensors header (the JSON before the tensors' bytes) accepted: 2 MiB, about
/// 20,000 tensors. Parsing a header costs about 15 times its size in memory, so the cap keeps a
/// hostile one (a million empty tensors) within a few tens of MiB.
pub const MAX_HEADER_BYTES: u64 = 2 << 20;

/// Refuse a safetensors file whose declared header exceeds [`MAX_HEADER_BYTES`] before parsing it.
pub(crate) fn check_header_size(bytes: &[u8], path: &Path) -> Result<()> {
    let declared = bytes.get(..8).map(|b| b.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)));
    match declared {
        Some(n) if n > MAX_HEADER_BYTES => Err(Error::Parse {
            path: path.to_path_buf(),
            line: 0,
            message: format!("the header declares {n} bytes, over the cap of {MAX_HEADER_BYTES}"),
        }),
        _ => Ok(()),
    }
}

/// Values as little-endian bytes, as safetensors stores them.
pub(crate) fn le_bytes<T: Element>(values: &[T]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(values.len() * T::BYTES);
    values.iter().for_each(|x| x.write_le(&mut bytes));
    bytes
}

/// The safetensors element type of `T`.
/// The little-endian values of a tensor's bytes, refused (naming the tensor, the index and the
/// value) when one is NaN or infinite: a non-finite weight or optimizer buffer would make every
/// prediction NaN (and a class label of it), so weights files and checkpoints both read through it.
pub(crate) fn finite_values<T: Element>(bytes: &[u8], name: &str) -> std::result::Result<Vec<T>, String> {
    let values: Vec<T> = bytes.chunks_exact(T::BYTES).map(T::read_le).collect();
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((at, v)) => Err(format!("tensor '{name}' holds a non-finite value {v} at flat index {at}")),
        None => Ok(values),
    }
}

pub(crate) fn dtype_of<T: Element>() -> Dtype {
    if T::BYTES == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

/// Save every parameter of `network` to a safetensors file at `path`, atomically. Tensors are
/// named `"{layer}.{param}"`.
///
/// # Errors
/// When the file cannot be written (the error names it; an existing file stays intact).
pub fn save_weights<T: Element>(network: &dyn Network<T>, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let named = network.named_params();
    let buffers: Vec<(String, Vec<usize>, Vec<u8>)> = named
        .iter()
        .map(|(name, p)| {
            let v = p.value();
            (name.clone(), v.dims().to_vec(), le_bytes(v.data()))
        })
        .collect();
    let views = buffers
        .iter()
        .map(|(name, shape, bytes)| {
            Ok((name.as_str(), safetensors::tensor::TensorView::new(dtype_of::<T>(), shape.clone(), bytes)?))
        })
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| Error::invalid("save_weights", e.to_string()))?;
    let bytes = safetensors::serialize(views, None).map_err(|e| Error::invalid("save_weights", e.to_string()))?;
    write_atomic(path, &bytes)
}

/// Load parameters saved by [`save_weights`] into `network`. Nothing changes unless every tensor
/// is present with the right type and shape.
///
/// # Errors
/// When the file is unreadable or malformed, or a tensor is missing, unexpected, of another
/// element type or shape (the error names the file and the tensor).
pub fn load_weights<T: Element>(network: &dyn Network<T>, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let bytes = fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    load_weights_from_bytes(network, &bytes, path)
}

/// [`load_weights`] from the file's bytes; `path` names it in errors.
///
/// # Errors
/// As [`load_weights`].
pub fn load_weights_from_bytes<T: Element>(network: &dyn Network<T>, bytes: &[u8], path: &Path) -> Result<()> {
    let bad = |message: String| Error::Parse { path: path.to_path_buf(), line: 0, message };
    check_header_size(bytes, path)?;
    let file = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
    let named = network.named_params();
    // Sorted so the message is the same on every run (the header is a map).
    let mut unexpected: Vec<&str> =
        file.names().into_iter().filter(|name| !named.iter().any(|(n, _)| n == name)).collect();
    unexpected.sort_unstable();
    if !unexpected.is_empty() {
        let list = unexpected.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ");
        return Err(bad(format!("unexpected tensor {list}: the network has no such parameter")));
    }
    let mut loaded = Vec::with_capacity(named.len());
    for (name, param) in &named {
        let view = file.tensor(name).map_err(|_| bad(format!("missing tensor '{name}'")))?;
        if view.dtype() != dtype_of::<T>() {
            return Err(bad(format!("tensor '{name}' is {:?}, the network holds {}", view.dtype(), T::NAME)));
        }
        if view.shape() != param.shape().dims() {
            return Err(bad(format!("tensor '{name}' has shape {:?}, the parameter {}", view.shape(), param.shape())));
        }
        let values = finite_values::<T>(view.data(), name).map_err(bad)?;
        loaded.push(Tensor::from_vec(values, view.shape().to_vec())?);
    }
    for ((_, param), values) in named.iter().zip(&loaded) {
        param.set(values)?;
    }
    Ok(())
}
