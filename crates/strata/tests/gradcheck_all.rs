//! The gradient-check cases written beside each op (`strata::autograd::op_checks`: every op
//! file's `checks()` and the elementwise table's `check:` column) drive the f64 gradient check
//! of every differentiable op: each case passes at several shapes (scalar, batch 1, batch 33,
//! broadcast) and 3 seeds; the cases name every backward rule in `src/ops` (a new op without a
//! case fails `the_table_covers_every_op`); and a
//! fault injected into each op's backward (scaled by 1.001, sign flipped, a term dropped,
//! operands swapped) is caught every time. Criterion: normwise relative error <= 1e-6 and every
//! element within 1e-5 + 1e-3 |numeric| (GradcheckConfig's defaults).

use std::sync::Mutex;
use strata::autograd::fault::{inject, Fault};
use strata::autograd::op_checks;
use strata::rng::seeded_rng;
use strata::{gradcheck, GradcheckConfig, Tensor};

/// Fault injection is global: the tests that check gradients must not overlap with it.
static SERIAL: Mutex<()> = Mutex::new(());

fn inputs(shapes: &[&[usize]], range: (f64, f64), seed: u64) -> Vec<Tensor<f64>> {
    let mut rng = seeded_rng(1000 + seed);
    shapes.iter().map(|s| Tensor::rand_uniform(s.to_vec(), range.0, range.1, &mut rng).unwrap()).collect()
}

#[test]
fn every_case_passes_at_every_shape_and_seed() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for case in op_checks() {
        for shapes in case.shapes {
            for seed in 0..3 {
                let config = GradcheckConfig { seed, ..GradcheckConfig::default() };
                let report = gradcheck(case.f, &inputs(shapes, case.range, seed), &config)
                    .unwrap_or_else(|e| panic!("{} {shapes:?}: {e}", case.label));
                assert!(report.passed, "{} {shapes:?} seed {seed}: {report}", case.label);
            }
        }
    }
}

/// Every structured backward rule in `src/ops` has a case: the rules' names read from the
/// sources, since nothing else lists them (elementwise ops get theirs from their table row).
#[test]
fn the_table_covers_every_op() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ops");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // Structured ops: `fn name(&self) -> &'static str { "matmul" }`.
        for part in text.split("fn name(&self) -> &'static str {").skip(1) {
            // Only a literal name: the elementwise ops' shared rule returns `O::NAME`.
            if let Some(name) = Some(part.trim_start())
                .filter(|p| p.starts_with('"'))
                .and_then(|p| p.split('"').nth(1))
                .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            {
                names.push(name.to_string());
            }
        }
        // (Elementwise ops need no scan: their table row generates their case.)
    }
    let covered: Vec<&str> = op_checks().iter().filter_map(|c| c.op).collect();
    names.sort();
    names.dedup();
    names.retain(|n| n != "name");
    assert!(names.len() >= 20, "found only {names:?}");
    let missing: Vec<&String> = names.iter().filter(|n| !covered.contains(&n.as_str())).collect();
    assert!(missing.is_empty(), "ops without a gradient-check case: {missing:?}");
}

/// A corrupted backward is caught for every op it can corrupt.
#[test]
fn injected_faults_are_caught() {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    for case in op_checks() {
        let Some(op) = case.op else { continue };
        // The step's derivative is 0 everywhere: every corruption of 0 is still 0.
        if op == "step" {
            continue;
        }
        for fault in [Fault::Scale, Fault::FlipSign, Fault::DropTerm, Fault::SwapOperands] {
            let arity = case.shapes[0].len();
            // Swapping needs two operands whose gradients differ: add's are both g.
            if fault == Fault::SwapOperands && (arity < 2 || op == "add") {
                continue;
            }
            // The largest variant: enough elements that some gradient is non-zero (clamp's is 0
            // outside its bounds).
            let shapes = case
                .shapes
                .iter()
                .max_by_key(|s| s.iter().map(|d| d.iter().product::<usize>()).sum::<usize>())
                .unwrap();
            inject(Some((op, fault)));
            let outcome = gradcheck(case.f, &inputs(shapes, case.range, 0), &GradcheckConfig::default());
            inject(None);
            let caught = match outcome {
                Ok(report) => !report.passed,
                Err(_) => true, // e.g. swapped gradients of different shapes
            };
            assert!(caught, "{} with {fault:?} injected into '{op}' passed the check", case.label);
        }
    }
}
