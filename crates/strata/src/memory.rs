//! What a model will need in memory, estimated before it is allocated: a network too large for
//! the machine is an error naming the layer and the bytes, not an abort in the allocator
//! ("memory allocation failed") minutes into building or training.
//!
//! The budget is the memory the kernel reports as available (`MemAvailable` in
//! `/proc/meminfo`), or `STRATA_MEMORY_LIMIT` (bytes; tests and shared machines set it). Where
//! neither is known, nothing is refused.

use crate::error::{Error, Result};
use crate::nn::SummaryRow;

/// Bytes this process may still allocate, if known.
pub fn available() -> Option<u64> {
    if let Some(limit) = std::env::var("STRATA_MEMORY_LIMIT").ok().and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(limit);
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// `bytes` in the largest binary unit that keeps it above 1 (`4.0 GiB`).
pub fn format_bytes(bytes: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// Refuse `needed` bytes for `what` when they exceed what is available.
///
/// # Errors
/// Naming `what`, the bytes needed and the bytes available.
pub fn check(what: &str, needed: u64, purpose: &str) -> Result<()> {
    match available() {
        Some(free) if needed > free => Err(Error::invalid(
            what,
            format!(
                "{purpose} needs about {} of memory, more than the {} available",
                format_bytes(needed),
                format_bytes(free)
            ),
        )),
        _ => Ok(()),
    }
}

/// The memory training needs beyond the weights (which exist already), from the network's
/// summary rows: every parameter's gradient and `slots` optimizer buffers, and per layer a batch
/// of outputs kept for the backward pass, their gradients and one temporary. The largest layer
/// is named in the error.
///
/// # Errors
/// When the estimate exceeds what is available.
pub fn check_training(rows: &[SummaryRow], element_bytes: usize, batch_size: usize, slots: usize) -> Result<()> {
    let per_param = (1 + slots) as u64 * element_bytes as u64;
    let mut total: u64 = 0;
    let mut largest: Option<(&str, u64)> = None;
    for row in rows {
        let activations = (row.output_shape.numel() as u64).saturating_mul(batch_size as u64).saturating_mul(3);
        let bytes = (row.params as u64)
            .saturating_mul(per_param)
            .saturating_add(activations.saturating_mul(element_bytes as u64));
        total = total.saturating_add(bytes);
        if largest.is_none_or(|(_, b)| bytes > b) {
            largest = Some((&row.name, bytes));
        }
    }
    let Some((name, bytes)) = largest else { return Ok(()) };
    check(
        "fit",
        total,
        &format!(
            "training with batch_size {batch_size} (the largest part, layer '{name}', {}: its gradients, optimizer buffers and a batch of activations)",
            format_bytes(bytes)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::format_bytes;

    #[test]
    fn bytes_are_written_in_binary_units() {
        assert_eq!(format_bytes(512), "512 bytes");
        assert_eq!(format_bytes(4 << 30), "4.0 GiB");
        assert_eq!(format_bytes(1536), "1.5 KiB");
    }
}
