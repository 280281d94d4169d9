//! Data: the built-in datasets (Iris, the logic-gate truth tables), tables from CSV files, IDX
//! image files, and preprocessing.

pub mod gates;
pub mod idx;
pub mod iris;
pub mod preprocess;
pub mod table;
