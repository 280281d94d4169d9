//! Plots, drawn with `plotters` and an embedded font (DejaVu Sans), so no system font is needed:
//! learning curves as lecture 000 draws them, and a grid of labelled images (lecture 004).
//! Files are written atomically.

use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::train::History;
use plotters::prelude::*;
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

/// Where the curves go: one panel per quantity (loss, then each metric), training and
/// validation on the same axes, epochs on x.
fn draw_curves<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    history: &History,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels: Vec<&str> = history
        .names()
        .into_iter()
        .filter(|n| !n.starts_with("val_") && *n != "learning_rate")
        .collect();
    let areas = root.split_evenly((1, panels.len().max(1)));
    for (area, name) in areas.iter().zip(&panels) {
        let train = history.get(name).unwrap_or(&[]);
        let val_name = format!("val_{name}");
        let val = history.get(&val_name);
        let all = train
            .iter()
            .chain(val.unwrap_or(&[]).iter())
            .copied()
            .filter(|v| v.is_finite());
        let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let (lo, hi) = if lo < hi {
            (lo, hi)
        } else {
            (lo - 0.5, lo + 0.5)
        };
        let pad = (hi - lo) * 0.05;
        let epochs = train.len().max(2);
        let mut chart = ChartBuilder::on(area)
            .caption(*name, (FONT, 20))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(1f64..epochs as f64, (lo - pad)..(hi + pad))
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("Epoch")
            .y_desc(*name)
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        let series = |values: &[f64]| {
            values
                .iter()
                .enumerate()
                .map(|(i, &v)| ((i + 1) as f64, v))
                .collect::<Vec<_>>()
        };
        chart
            .draw_series(LineSeries::new(series(train), BLUE.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label("Training")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
        if let Some(val) = val {
            chart
                .draw_series(LineSeries::new(series(val), RED.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label("Validation")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 12))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Learning curves of `history` as a PNG at `png` and an SVG at `svg`.
///
/// # Errors
/// When the history is empty or a file cannot be written.
pub fn learning_curves(history: &History, png: &Path, svg: &Path) -> Result<()> {
    register_font();
    if history.epochs() == 0 {
        return Err(Error::invalid(
            "plot",
            "the history is empty (no epoch was trained)",
        ));
    }
    let panels = history
        .names()
        .iter()
        .filter(|n| !n.starts_with("val_") && **n != "learning_rate")
        .count()
        .max(1);
    let size = (560 * panels as u32, 420);
    let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
    draw_curves(
        BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area(),
        history,
    )
    .map_err(|e| plot_error(png, e))?;
    write_atomic(
        png,
        &encode_png(&pixels, size).map_err(|e| plot_error(png, e))?,
    )?;
    let mut text = String::new();
    draw_curves(
        SVGBackend::with_string(&mut text, size).into_drawing_area(),
        history,
    )
    .map_err(|e| plot_error(svg, e))?;
    write_atomic(svg, text.as_bytes())
}

/// A 5 x 5 grid of grey images `[n, rows, cols]` (values 0..1) with a caption each, as a PNG.
///
/// # Errors
/// When the images are not rank 3 or the file cannot be written.
pub fn image_grid(images: &crate::Tensor<f32>, captions: &[String], png: &Path) -> Result<()> {
    register_font();
    let (n, rows, cols) = images.shape().dims3("image_grid")?;
    let cell = (cols as u32 * 4 + 20, rows as u32 * 4 + 40);
    let size = (cell.0 * 5, cell.1 * 5);
    let mut pixels = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        for (i, area) in root.split_evenly((5, 5)).iter().enumerate().take(n.min(25)) {
            let img = &images.data()[i * rows * cols..(i + 1) * rows * cols];
            for (k, &v) in img.iter().enumerate() {
                let shade = 255 - (v.clamp(0.0, 1.0) * 255.0) as u8;
                let (x, y) = (10 + (k % cols) as i32 * 4, 30 + (k / cols) as i32 * 4);
                area.draw(&Rectangle::new(
                    [(x, y), (x + 4, y + 4)],
                    RGBColor(shade, shade, shade).filled(),
                ))
                .map_err(|e| plot_error(png, e))?;
            }
            let caption = captions.get(i).map_or("", String::as_str);
            area.draw(&Text::new(caption.to_string(), (10, 8), (FONT, 13)))
                .map_err(|e| plot_error(png, e))?;
        }
        root.present().map_err(|e| plot_error(png, e))?;
    }
    write_atomic(
        png,
        &encode_png(&pixels, size).map_err(|e| plot_error(png, e))?,
    )
}

/// RGB pixels to PNG bytes (through plotters' image encoder, into memory so the write is atomic).
fn encode_png(pixels: &[u8], (w, h): (u32, u32)) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut out);
    image::ImageEncoder::write_image(encoder, pixels, w, h, image::ColorType::Rgb8)
        .map_err(|e| e.to_string())?;
    Ok(out)
}
