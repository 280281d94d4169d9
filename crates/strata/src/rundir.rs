//! A run directory has one writer at a time, and its files are replaced as one set.
//!
//! The writer holds an advisory lock on `.<name>.lock` beside the directory (beside, not inside:
//! the directory itself is swapped out when a run is replaced). A second writer fails at once,
//! naming the holder's process id; the operating system drops the lock when the holder exits,
//! however it exits, so a killed run never leaves a directory locked.
//!
//! Replacing a trained run (`fit --overwrite`) builds the new run in `.<name>.staging-<pid>`
//! beside it and swaps the two directories only once every file is written: a reader sees the
//! old set or the new one, never weights of one run with the history of another, and a disk that
//! fills during the replacement leaves the old run whole.
// Run directories face edited and hostile file systems: no panicking shortcuts.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use crate::error::{Error, Result};
use std::fs::{self, File};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The exclusive right to write one run directory, held until dropped (or the process ends).
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Take the lock of `run_dir` (creating its parent folder if needed).
    ///
    /// # Errors
    /// When another process holds it (naming its pid), or the lock file cannot be created.
    pub fn acquire(run_dir: &Path) -> Result<RunLock> {
        let (parent, name) = parent_and_name(run_dir)?;
        fs::create_dir_all(&parent).map_err(|source| Error::Io { path: parent.clone(), source })?;
        let path = parent.join(format!(".{name}.lock"));
        let io = |source| Error::Io { path: path.clone(), source };
        let mut file =
            fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let who = if holder.is_empty() { "another process".to_string() } else { format!("process {holder}") };
                return Err(Error::invalid(
                    "run directory",
                    format!(
                        "{} is being written by {who} (lock {}); wait for it to finish or choose another --out",
                        run_dir.display(),
                        path.display()
                    ),
                ));
            }
            Err(fs::TryLockError::Error(source)) => return Err(io(source)),
        }
        // Who holds it, for the message a second writer gets.
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(RunLock { _file: file })
    }
}

/// Where a replacement of `run_dir` is built: `.<name>.staging-<pid>` beside it. Staging folders
/// and swapped-out old runs left by killed writers of the same directory are removed first (the
/// caller holds the lock, so no live writer owns them).
///
/// # Errors
/// When the folder cannot be created or a stale one removed.
pub fn staging_dir(run_dir: &Path, _lock: &RunLock) -> Result<PathBuf> {
    let (parent, name) = parent_and_name(run_dir)?;
    let staging_prefix = format!(".{name}.staging-");
    let old_prefix = format!(".{name}.old-");
    if let Ok(entries) = fs::read_dir(&parent) {
        for entry in entries.flatten() {
            let entry_name = entry.file_name().to_string_lossy().into_owned();
            if entry_name.starts_with(&staging_prefix) || entry_name.starts_with(&old_prefix) {
                fs::remove_dir_all(entry.path()).map_err(|source| Error::Io { path: entry.path(), source })?;
            }
        }
    }
    let staging = parent.join(format!("{staging_prefix}{}", std::process::id()));
    fs::create_dir_all(&staging).map_err(|source| Error::Io { path: staging.clone(), source })?;
    Ok(staging)
}

/// Put the finished run in `staging` at `run_dir`, moving the old run out first and deleting it
/// after. If the second rename fails the old run is moved back.
///
/// # Errors
/// When a rename fails (the message names both paths; the old run is back in place).
pub fn replace_with(run_dir: &Path, staging: &Path, _lock: &RunLock) -> Result<()> {
    let (parent, name) = parent_and_name(run_dir)?;
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let io = |path: &Path, source| Error::Io { path: path.to_path_buf(), source };
    fs::rename(run_dir, &old).map_err(|e| io(run_dir, e))?;
    if let Err(e) = fs::rename(staging, run_dir) {
        let _ = fs::rename(&old, run_dir);
        return Err(io(staging, e));
    }
    if let Ok(d) = File::open(&parent) {
        let _ = d.sync_all();
    }
    // The new run is in place; the old one is only garbage now (a failure here is harmless and
    // the next writer removes it).
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

fn parent_and_name(run_dir: &Path) -> Result<(PathBuf, String)> {
    let name = run_dir
        .file_name()
        .ok_or_else(|| Error::invalid("run directory", format!("{} has no final name", run_dir.display())))?
        .to_string_lossy()
        .into_owned();
    let parent = match run_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}
