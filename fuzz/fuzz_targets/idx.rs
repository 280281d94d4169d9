//! Arbitrary bytes as an IDX file (raw, or gzip when they start like gzip).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = strata::data::idx::read_idx_from(Path::new("fuzz-idx3-ubyte"), data);
});
