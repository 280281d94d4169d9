//! Data: the built-in datasets (Iris, the logic-gate truth tables) and batching.

pub mod gates;
pub mod idx;
pub mod iris;
