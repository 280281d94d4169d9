//! Plots, drawn with `plotters` and an embedded font (DejaVu Sans), so no system font is needed:
//! learning curves as lecture 000 draws them, a grid of labelled images (lecture 004), and a
//! conv network's filters and feature maps (`conv.rs`, lecture 003).
//! Files are written atomically. Learning curves in `curves.rs`, images and classifier results
//! in `images.rs`, class-coloured 2-D data in `classes.rs`.

mod classes;
mod conv;
mod curves;
mod images;

pub use classes::{decision_regions, scatter_by_class};
pub use conv::{feature_maps, filters};
pub use curves::{learning_curves, learning_curves_marked};
pub use images::{confusion_matrix, image_batch, image_grid, predicted_vs_true};

use crate::error::Error;
use plotters::prelude::FontStyle;
use std::path::Path;
use std::sync::Once;

const FONT: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in (the `dejavu` crate); registering can only fail on a corrupt
        // font, which the tests would catch.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

fn plot_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::invalid("plot", format!("{}: {e}", path.display()))
}

/// RGB pixels to PNG bytes (through plotters' image encoder, into memory so the write is atomic).
fn encode_png(pixels: &[u8], (w, h): (u32, u32)) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut out);
    image::ImageEncoder::write_image(encoder, pixels, w, h, image::ColorType::Rgb8).map_err(|e| e.to_string())?;
    Ok(out)
}
