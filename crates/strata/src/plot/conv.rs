//! What a convolutional network learned and sees (lecture 003's "learnable filters ... produce
//! feature maps"): the first conv layer's kernels as a grid of small pictures, and each conv
//! layer's outputs for one image. Pixels are written straight into the buffer (thousands of
//! magnified pixels would be thousands of plotters rectangles); text goes through plotters.

use super::encode_png;
use super::{plot_error, register_font, FONT};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::tensor::Tensor;
use plotters::prelude::*;
use std::path::Path;

/// An RGB canvas: pixels written directly, text drawn by plotters afterwards.
struct Canvas {
    size: (u32, u32),
    pixels: Vec<u8>,
    texts: Vec<(String, (i32, i32), u32)>,
}

impl Canvas {
    fn new(size: (u32, u32)) -> Self {
        Canvas { size, pixels: vec![255; (size.0 * size.1 * 3) as usize], texts: Vec::new() }
    }

    /// A `px`-magnified block at `(x, y)` of `rows x cols` colours given by `color(r, c)`.
    fn block(
        &mut self,
        (x, y): (u32, u32),
        (rows, cols): (usize, usize),
        px: u32,
        color: impl Fn(usize, usize) -> [u8; 3],
    ) {
        for r in 0..rows {
            for c in 0..cols {
                let rgb = color(r, c);
                for dy in 0..px {
                    for dx in 0..px {
                        let (sx, sy) = (x + c as u32 * px + dx, y + r as u32 * px + dy);
                        if sx < self.size.0 && sy < self.size.1 {
                            let at = ((sy * self.size.0 + sx) * 3) as usize;
                            self.pixels[at..at + 3].copy_from_slice(&rgb);
                        }
                    }
                }
            }
        }
    }

    fn text(&mut self, text: impl Into<String>, at: (i32, i32), points: u32) {
        self.texts.push((text.into(), at, points));
    }

    fn write(mut self, png: &Path) -> Result<()> {
        register_font();
        {
            let root = BitMapBackend::with_buffer(&mut self.pixels, self.size).into_drawing_area();
            for (text, at, points) in &self.texts {
                root.draw(&Text::new(text.clone(), *at, (FONT, *points))).map_err(|e| plot_error(png, e))?;
            }
            root.present().map_err(|e| plot_error(png, e))?;
        }
        write_atomic(png, &encode_png(&self.pixels, self.size).map_err(|e| plot_error(png, e))?)
    }
}

/// Blue for negative, white for zero, red for positive, `v` in [-1, 1].
fn diverging(v: f64) -> [u8; 3] {
    let t = v.clamp(-1.0, 1.0);
    let fade = |t: f64| (255.0 * (1.0 - t.abs())) as u8;
    if t >= 0.0 {
        [255, fade(t), fade(t)]
    } else {
        [fade(t), fade(t), 255]
    }
}

/// Dark for high values: `v` in [0, 1].
fn ink(v: f64) -> [u8; 3] {
    let g = (255.0 * (1.0 - v.clamp(0.0, 1.0))) as u8;
    [g, g, g]
}

/// The kernels of a conv layer `[kh, kw, in, filters]` as a grid, one tile per filter, as a PNG.
/// With 3 input channels a tile is the filter as a colour image (each filter stretched to
/// 0..1); otherwise each tile shows the weights summed over the input channels on a shared
/// blue-white-red scale, so tiles compare.
///
/// # Errors
/// When the kernel is not rank 4 or the file cannot be written.
pub fn filters(kernel: &Tensor<f32>, layer: &str, png: &Path) -> Result<()> {
    let &[kh, kw, channels, count] = kernel.dims() else {
        return Err(Error::shape("filters", kernel.shape(), "expects a kernel [kh, kw, in, filters]"));
    };
    let k = kernel.data();
    let at = |r: usize, c: usize, i: usize, f: usize| f64::from(k[((r * kw + c) * channels + i) * count + f]);
    let summed = |r: usize, c: usize, f: usize| (0..channels).map(|i| at(r, c, i, f)).sum::<f64>();
    let largest = (0..count)
        .flat_map(|f| (0..kh).flat_map(move |r| (0..kw).map(move |c| (r, c, f))))
        .map(|(r, c, f)| summed(r, c, f).abs())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let px = (72 / kh.max(kw).max(1)).clamp(2, 24) as u32;
    let tile = (kw as u32 * px, kh as u32 * px);
    let columns = count.min(8) as u32;
    let grid_rows = count.div_ceil(8) as u32;
    let cell = (tile.0.max(40) + 16, tile.1 + 26);
    let size = ((cell.0 * columns + 20).max(520), cell.1 * grid_rows + 70);
    let mut canvas = Canvas::new(size);
    let scale = if channels == 3 {
        "as colour images, each stretched to its range".to_string()
    } else {
        format!(
            "summed over {channels} input channel{}: blue < 0 < red, max |w| = {largest:.3}",
            if channels == 1 { "" } else { "s" }
        )
    };
    canvas.text(format!("{layer}: {count} filters of {kh}x{kw}"), (10, 8), 18);
    canvas.text(scale, (10, 32), 13);
    for f in 0..count {
        let (gx, gy) = ((f % 8) as u32 * cell.0 + 10, (f / 8) as u32 * cell.1 + 60);
        canvas.text(format!("{f}"), (gx as i32, gy as i32), 11);
        let origin = (gx, gy + 16);
        if channels == 3 {
            let values: Vec<f64> = (0..kh)
                .flat_map(|r| (0..kw).flat_map(move |c| (0..3).map(move |i| (r, c, i))))
                .map(|(r, c, i)| at(r, c, i, f))
                .collect();
            let (lo, hi) = values.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let span = (hi - lo).max(f64::MIN_POSITIVE);
            let level = |v: f64| (255.0 * (v - lo) / span) as u8;
            canvas.block(origin, (kh, kw), px, |r, c| {
                [level(at(r, c, 0, f)), level(at(r, c, 1, f)), level(at(r, c, 2, f))]
            });
        } else {
            canvas.block(origin, (kh, kw), px, |r, c| diverging(summed(r, c, f) / largest));
        }
    }
    canvas.write(png)
}

/// Feature maps: the input image, then for each conv layer `(name, output [1, h, w, maps])` its
/// first 16 maps, each stretched to its own range (dark: strong response), as a PNG.
///
/// # Errors
/// When a tensor is not of those shapes or the file cannot be written.
pub fn feature_maps(image: &Tensor<f32>, layers: &[(String, Tensor<f32>)], caption: &str, png: &Path) -> Result<()> {
    const SHOWN: usize = 16;
    let &[1, ih, iw, ic] = image.dims() else {
        return Err(Error::shape("feature_maps", image.shape(), "expects one image [1, h, w, channels]"));
    };
    let mut sections = Vec::new();
    for (name, out) in layers {
        let &[1, h, w, maps] = out.dims() else {
            return Err(Error::shape(
                "feature_maps",
                out.shape(),
                format!("expects layer '{name}' output [1, h, w, maps]"),
            ));
        };
        let px = (96 / h.max(w).max(1)).clamp(1, 4) as u32;
        sections.push((name, out, h, w, maps, px));
    }
    let input_px = (112 / ih.max(iw).max(1)).clamp(1, 4) as u32;
    let section_height = |h: usize, px: u32, maps: usize| (h as u32 * px + 8) * maps.min(SHOWN).div_ceil(8) as u32 + 30;
    let width = sections.iter().map(|&(_, _, _, w, _, px)| (w as u32 * px + 8) * 8 + 20).max().unwrap_or(0).max(560);
    let height = 70
        + ih as u32 * input_px
        + sections.iter().map(|&(_, _, h, _, maps, px)| section_height(h, px, maps)).sum::<u32>();
    let mut canvas = Canvas::new((width, height));
    canvas.text(format!("Feature maps of each conv layer for one test image ({caption})"), (10, 8), 18);
    let pixels = image.data();
    let (lo, hi) = pixels.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let span = f64::from((hi - lo).max(f32::MIN_POSITIVE));
    let level = |v: f32| f64::from(v - lo) / span;
    canvas.block((10, 36), (ih, iw), input_px, |r, c| {
        let p = &pixels[(r * iw + c) * ic..(r * iw + c + 1) * ic];
        match p {
            [r, g, b] => [(255.0 * level(*r)) as u8, (255.0 * level(*g)) as u8, (255.0 * level(*b)) as u8],
            _ => ink(level(p.first().copied().unwrap_or(0.0))),
        }
    });
    let mut y = 46 + ih as u32 * input_px;
    for (name, out, h, w, maps, px) in sections {
        let shown = maps.min(SHOWN);
        let label = if shown < maps { format!("first {shown} of {maps} maps") } else { format!("{maps} maps") };
        canvas.text(
            format!("{name}: {h}x{w}, {label}, each on its own scale (dark: strong response)"),
            (10, y as i32),
            14,
        );
        let data = out.data();
        for m in 0..shown {
            let value = |r: usize, c: usize| f64::from(data[(r * w + c) * maps + m]);
            let (lo, hi) = (0..h * w)
                .map(|i| value(i / w, i % w))
                .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
            let span = (hi - lo).max(f64::MIN_POSITIVE);
            let origin = ((m % 8) as u32 * (w as u32 * px + 8) + 10, y + 20 + (m / 8) as u32 * (h as u32 * px + 8));
            canvas.block(origin, (h, w), px, |r, c| ink((value(r, c) - lo) / span));
        }
        y += section_height(h, px, maps);
    }
    canvas.write(png)
}
