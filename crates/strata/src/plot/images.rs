//! Figures of images and of a classifier's results: a grid of labelled images (lecture 004), the
//! confusion matrix and predicted against true values.

use super::classes::{bounds, color};
use super::encode_png;
use super::{plot_error, register_font, FONT};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use plotters::prelude::*;
use std::path::Path;

/// `(n, rows, cols, channels)` of a batch [`image_grid`] can draw: grey `[n, rows, cols]` or
/// `[n, rows, cols, 1]`, colour `[n, rows, cols, 3]`; `None` for any other shape.
pub fn image_batch(dims: &[usize]) -> Option<(usize, usize, usize, usize)> {
    match *dims {
        [n, rows, cols] => Some((n, rows, cols, 1)),
        [n, rows, cols, c @ (1 | 3)] => Some((n, rows, cols, c)),
        _ => None,
    }
}

/// A 5 x 5 grid of images under a title, each with a caption: grey images `[n, rows, cols]` or
/// `[n, rows, cols, 1]` (values 0..1, drawn dark on white as lecture 004 shows Fashion-MNIST) or
/// colour ones `[n, rows, cols, 3]`; images flagged in `wrong` get a red frame and a red caption
/// (a misclassified test image), as a PNG. Small images are magnified (4 screen pixels per pixel
/// for 28x28); cells are wide enough for two class names ("Ankle boot / Sneaker").
///
/// # Errors
/// When the images are not of those shapes or the file cannot be written.
pub fn image_grid(
    images: &crate::Tensor<f32>,
    captions: &[String],
    title: &str,
    wrong: &[bool],
    png: &Path,
) -> Result<()> {
    register_font();
    let Some((n, rows, cols, channels)) = image_batch(images.dims()) else {
        return Err(Error::shape("image_grid", images.shape(), "expects [n, rows, cols] or [n, rows, cols, 1 or 3]"));
    };
    let px = (112 / rows.max(cols).max(1)).clamp(1, 4) as i32;
    let (width, height) = (cols as i32 * px, rows as i32 * px);
    let longest = captions.iter().map(|c| c.chars().count()).max().unwrap_or(0) as u32;
    let cell = ((width as u32 + 20).max(longest * 7 + 16), height as u32 + 40);
    let size = (cell.0 * 5, cell.1 * 5 + 36);
    let mut pixels = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        let (head, grid) = root.split_vertically(36);
        head.draw(&Text::new(title.to_string(), (10, 8), (FONT, 18))).map_err(|e| plot_error(png, e))?;
        let per_image = rows * cols * channels;
        for (i, area) in grid.split_evenly((5, 5)).iter().enumerate().take(n.min(25)) {
            let img = &images.data()[i * per_image..(i + 1) * per_image];
            let left = (cell.0 as i32 - width) / 2;
            for (k, pixel) in img.chunks_exact(channels).enumerate() {
                let level = |v: f32| (v.clamp(0.0, 1.0) * 255.0) as u8;
                let shade = match pixel {
                    [v] => RGBColor(255 - level(*v), 255 - level(*v), 255 - level(*v)),
                    [r, g, b] => RGBColor(level(*r), level(*g), level(*b)),
                    _ => RGBColor(255, 255, 255),
                };
                let (x, y) = (left + (k % cols) as i32 * px, 30 + (k / cols) as i32 * px);
                area.draw(&Rectangle::new([(x, y), (x + px, y + px)], shade.filled()))
                    .map_err(|e| plot_error(png, e))?;
            }
            let bad = wrong.get(i).copied().unwrap_or(false);
            if bad {
                let frame = [(left - 2, 28), (left + width + 2, 32 + height)];
                area.draw(&Rectangle::new(frame, RED.stroke_width(2))).map_err(|e| plot_error(png, e))?;
            }
            let caption = captions.get(i).map_or("", String::as_str);
            let style = TextStyle::from((FONT, 12).into_font()).color(if bad { &RED } else { &BLACK });
            area.draw(&Text::new(caption.to_string(), (8, 8), style)).map_err(|e| plot_error(png, e))?;
        }
        root.present().map_err(|e| plot_error(png, e))?;
    }
    write_atomic(png, &encode_png(&pixels, size).map_err(|e| plot_error(png, e))?)
}

/// A confusion matrix (`[true][predicted]` counts) as a heat map with the count in each cell
/// and the class names on both axes, as a PNG.
///
/// # Errors
/// When the matrix is not square or the file cannot be written.
pub fn confusion_matrix(matrix: &[Vec<usize>], class_names: &[String], png: &Path) -> Result<()> {
    register_font();
    let c = matrix.len();
    if c == 0 || matrix.iter().any(|row| row.len() != c) {
        return Err(Error::invalid("confusion_matrix", format!("needs a square matrix, got {c} rows")));
    }
    let name = |i: usize| class_names.get(i).cloned().unwrap_or_else(|| i.to_string());
    let label_width = (0..c).map(|i| name(i).chars().count()).max().unwrap_or(1) as u32 * 8 + 20;
    let cell = (560 / c as u32).clamp(24, 64);
    // Wide enough for the title (about 440 pixels at 16 points) however few the classes.
    let size = ((label_width + cell * c as u32 + 40).max(460), label_width + cell * c as u32 + 70);
    let most = matrix.iter().flatten().copied().max().unwrap_or(0).max(1);
    let mut pixels = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        let r = &root;
        let drawn = (|| -> std::result::Result<(), String> {
            r.draw(&Text::new("Confusion matrix (rows: true class, columns: predicted)", (10, 10), (FONT, 16)))
                .map_err(|e| e.to_string())?;
            let (x0, y0) = (label_width as i32 + 10, 50);
            for (t, row) in matrix.iter().enumerate() {
                for (p, &count) in row.iter().enumerate() {
                    let shade = 255 - (200 * count / most) as u8;
                    let (x, y) = (x0 + (p as u32 * cell) as i32, y0 + (t as u32 * cell) as i32);
                    let fill = RGBColor(shade, shade, 255);
                    r.draw(&Rectangle::new([(x, y), (x + cell as i32, y + cell as i32)], fill.filled()))
                        .map_err(|e| e.to_string())?;
                    r.draw(&Rectangle::new([(x, y), (x + cell as i32, y + cell as i32)], RGBColor(200, 200, 200)))
                        .map_err(|e| e.to_string())?;
                    let ink = if 2 * count > most { WHITE } else { BLACK };
                    let style = TextStyle::from((FONT, 11).into_font()).color(&ink);
                    // Centred: about 6 pixels per digit at 11 points.
                    let half_text = 3 * count.to_string().len() as i32;
                    r.draw(&Text::new(
                        count.to_string(),
                        (x + cell as i32 / 2 - half_text, y + cell as i32 / 2 - 6),
                        style,
                    ))
                    .map_err(|e| e.to_string())?;
                }
                r.draw(&Text::new(name(t), (10, y0 + (t as u32 * cell) as i32 + cell as i32 / 2 - 6), (FONT, 12)))
                    .map_err(|e| e.to_string())?;
            }
            // Predicted class names, written downwards under their columns.
            for p in 0..c {
                let x = x0 + (p as u32 * cell) as i32 + cell as i32 / 2 - 6;
                let style = TextStyle::from((FONT, 12).into_font()).transform(FontTransform::Rotate90);
                r.draw(&Text::new(name(p), (x + 12, y0 + (c as u32 * cell) as i32 + 6), style))
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        })();
        drawn.map_err(|e| plot_error(png, e))?;
        root.present().map_err(|e| plot_error(png, e))?;
    }
    write_atomic(png, &encode_png(&pixels, size).map_err(|e| plot_error(png, e))?)
}

/// A regression's predictions against the true values, one panel per output column (up to
/// four), with the line y = x where a perfect model's points lie, as a PNG.
///
/// # Errors
/// When the shapes differ or are not `[n, k]`, or the file cannot be written.
pub fn predicted_vs_true(
    predicted: &crate::Tensor<f32>,
    truth: &crate::Tensor<f32>,
    names: &[String],
    png: &Path,
) -> Result<()> {
    register_font();
    let (n, k) = predicted.shape().dims2("predicted_vs_true")?;
    if truth.shape() != predicted.shape() {
        return Err(Error::mismatch("predicted_vs_true", predicted.shape(), truth.shape(), "predictions vs targets"));
    }
    let shown = k.min(4);
    let size = (460 * shown.max(1) as u32, 440);
    let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(png, e))?;
        for (j, area) in root.split_evenly((1, shown.max(1))).iter().enumerate().take(shown) {
            let points: Vec<(f64, f64)> = (0..n)
                .map(|i| (f64::from(truth.data()[i * k + j]), f64::from(predicted.data()[i * k + j])))
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .collect();
            let (xr, yr) = bounds(&points);
            let (lo, hi) = (xr.start.min(yr.start), xr.end.max(yr.end));
            let name = names.get(j).cloned().unwrap_or_else(|| format!("output {j}"));
            let mut chart = ChartBuilder::on(area)
                .caption(format!("{name}: predicted vs true"), (FONT, 16))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(50)
                .build_cartesian_2d(lo..hi, lo..hi)
                .map_err(|e| plot_error(png, e))?;
            chart
                .configure_mesh()
                .x_desc(format!("true {name}"))
                .y_desc(format!("predicted {name}"))
                .label_style((FONT, 12))
                .draw()
                .map_err(|e| plot_error(png, e))?;
            chart
                .draw_series(DashedLineSeries::new([(lo, lo), (hi, hi)], 6, 4, BLACK.stroke_width(1)))
                .map_err(|e| plot_error(png, e))?;
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color(0).mix(0.7).filled())))
                .map_err(|e| plot_error(png, e))?;
        }
        root.present().map_err(|e| plot_error(png, e))?;
    }
    write_atomic(png, &encode_png(&pixels, size).map_err(|e| plot_error(png, e))?)
}
