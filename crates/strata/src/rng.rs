//! Seeded random numbers: one generator type so runs with the same seed are bit-identical.

use rand::SeedableRng;

/// The generator strata uses everywhere (ChaCha8: fast, and its stream is fixed across versions
/// and platforms, unlike `rand::rngs::StdRng`).
pub type Rng = rand_chacha::ChaCha8Rng;

/// A generator from a seed.
pub fn seeded_rng(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}
