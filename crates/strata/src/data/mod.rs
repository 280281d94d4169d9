//! Data: the built-in datasets (Iris, the logic-gate truth tables) and batching.

pub mod iris;
