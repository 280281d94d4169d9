//! Arbitrary bytes behind a gzip header: exercises the decompressor path of the IDX reader.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let mut bytes = vec![0x1f, 0x8b];
    bytes.extend_from_slice(data);
    let _ = strata::data::idx::read_idx_from(Path::new("fuzz-idx3-ubyte.gz"), bytes.as_slice());
});
