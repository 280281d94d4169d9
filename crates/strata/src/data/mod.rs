//! Data: the built-in datasets (Iris, the logic-gate truth tables), tables from CSV files, IDX
//! image files, text to token indices (`text`), batching, preprocessing and augmentation.

pub mod augment;
pub mod fetch;
pub mod gates;
pub mod idx;
pub mod images;
pub mod iris;
pub mod loader;
pub mod preprocess;
pub mod table;
pub mod text;
