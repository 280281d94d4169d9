//! Arbitrary bytes as a weights file for a small network: an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use strata::nn::{DenseConfig, Sequential};

fuzz_target!(|data: &[u8]| {
    if let Ok(net) = Sequential::<f32>::new([3], 0).add(DenseConfig::new(2).name("a")) {
        let _ = strata::io::load_weights_from_bytes(&net, data, Path::new("fuzz.safetensors"));
    }
});
