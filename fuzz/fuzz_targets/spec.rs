//! Arbitrary text as a spec file, then the network it describes (spec-to-model).
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(spec) = strata::spec::Spec::parse(text, Path::new("fuzz.toml")) {
        // Refuse absurd sizes before allocating: a fuzzer asks for 2^60 units.
        let small = spec.model.input_shape.iter().product::<usize>() < 4096
            && spec.model.layers.iter().all(|l| matches!(l, strata::nn::LayerConfig::Dense(c) if c.units < 512) || !matches!(l, strata::nn::LayerConfig::Dense(_)));
        if small {
            let _ = strata::run::build_model(&spec, 0);
        }
    }
});
