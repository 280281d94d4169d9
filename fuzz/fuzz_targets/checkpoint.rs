//! Arbitrary bytes as a training checkpoint (`checkpoint.strata`, read by `strata fit --resume`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = strata::train::Checkpoint::<f32>::from_bytes(data, Path::new("fuzz.strata"));
});
