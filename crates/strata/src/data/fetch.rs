//! Fetching a public dataset once, as Keras does: files downloaded from their official addresses
//! into a cache directory, verified by their published MD5 sums, and used from there afterwards.
//! A file whose checksum differs is rejected; a cached copy that fails its checksum is replaced
//! only by a download that passes it (never deleted first: offline, it stays). Users who already
//! have the files pass their directory to `load_mnist_dir` instead.
// Loaders, file formats and the command line face untrusted input: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::error::{Error, Result};
use crate::io::write_atomic;
use md5::{Digest, Md5};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One file of a dataset and its published MD5.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteFile {
    /// File name, appended to a mirror's address.
    pub name: String,
    /// Lower-case hex MD5 of the file.
    pub md5: String,
}

/// A dataset: its cache folder name, its mirrors (tried in order) and its files.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteDataset {
    /// Folder name under the cache directory.
    pub name: String,
    /// Base addresses ending in `/`.
    pub mirrors: Vec<String>,
    /// The files.
    pub files: Vec<RemoteFile>,
}

fn files(list: &[(&str, &str)]) -> Vec<RemoteFile> {
    list.iter().map(|(name, md5)| RemoteFile { name: name.to_string(), md5: md5.to_string() }).collect()
}

/// The datasets [`fetch`] knows by name: `fashion-mnist` and `mnist`, with the addresses and
/// MD5 sums torchvision and Keras use.
pub fn known(name: &str) -> Result<RemoteDataset> {
    match name {
        "fashion-mnist" => Ok(RemoteDataset {
            name: name.into(),
            mirrors: vec![
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/".into(),
                "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/".into(),
            ],
            files: files(&[
                ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
            ]),
        }),
        "mnist" => Ok(RemoteDataset {
            name: name.into(),
            mirrors: vec![
                "https://ossci-datasets.s3.amazonaws.com/mnist/".into(),
                "http://yann.lecun.com/exdb/mnist/".into(),
            ],
            files: files(&[
                ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
            ]),
        }),
        other => Err(Error::invalid("fetch", format!("unknown dataset {other:?} (known: fashion-mnist, mnist)"))),
    }
}

/// The default cache: `$STRATA_CACHE`, else `$HOME/.cache/strata/datasets`.
pub fn default_cache_dir() -> PathBuf {
    match std::env::var_os("STRATA_CACHE") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .map_or_else(|| PathBuf::from(".strata-cache"), |h| PathBuf::from(h).join(".cache/strata/datasets")),
    }
}

/// Largest file accepted from a mirror (the largest MNIST file is 26 MB).
const MAX_BYTES: u64 = 256 << 20;

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Make every file of `dataset` present and verified under `cache_dir/<name>`, downloading only
/// what is missing or corrupt. Returns that directory.
///
/// # Errors
/// When every mirror fails for a file (each failure is listed), a download's checksum differs
/// (nothing is written), or the cache cannot be written.
pub fn fetch(dataset: &RemoteDataset, cache_dir: &Path) -> Result<PathBuf> {
    let dir = cache_dir.join(&dataset.name);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io { path: dir.clone(), source })?;
    for file in &dataset.files {
        let path = dir.join(&file.name);
        // A cached copy that fails its checksum is kept until a verified download replaces it
        // (atomically): deleting it first would lose it when every mirror is unreachable.
        let mut cached_differs = None;
        if let Ok(bytes) = std::fs::read(&path) {
            if md5_hex(&bytes) == file.md5 {
                continue;
            }
            cached_differs = Some(md5_hex(&bytes));
        }
        let mut failures = Vec::new();
        let mut done = false;
        for mirror in &dataset.mirrors {
            let url = format!("{mirror}{}", file.name);
            match download(&url) {
                Ok(bytes) if md5_hex(&bytes) == file.md5 => {
                    write_atomic(&path, &bytes)?;
                    done = true;
                    break;
                }
                Ok(bytes) => failures.push(format!(
                    "{url}: checksum {} differs from the published {} (rejected)",
                    md5_hex(&bytes),
                    file.md5
                )),
                Err(e) => failures.push(format!("{url}: {e}")),
            }
        }
        if !done {
            if let Some(sum) = cached_differs {
                failures.push(format!(
                    "the copy in {} (checksum {sum}, not the published {}) was left as it was",
                    path.display(),
                    file.md5
                ));
            }
            return Err(Error::invalid(format!("fetch {}", file.name), failures.join("; ")));
        }
    }
    Ok(dir)
}

fn download(url: &str) -> std::result::Result<Vec<u8>, String> {
    let response = ureq::get(url).call().map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    response.into_body().into_reader().take(MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(format!("larger than {MAX_BYTES} bytes"));
    }
    Ok(bytes)
}
