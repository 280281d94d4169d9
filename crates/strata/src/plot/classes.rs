//! Two-dimensional data coloured by class: scatter plots and a classifier's decision regions.

use super::{encode_png, plot_error, register_font, FONT};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use plotters::prelude::*;
use std::path::Path;

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub(super) fn color(class: usize) -> RGBColor {
    PALETTE[class % PALETTE.len()]
}

/// The points of each class in its colour, with a legend.
fn draw_classes<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    points: &[(f64, f64)],
    labels: &[usize],
    class_names: &[String],
    radius: i32,
) -> std::result::Result<(), String> {
    for (c, name) in class_names.iter().enumerate() {
        let pts: Vec<(f64, f64)> = points.iter().zip(labels).filter(|(_, &l)| l == c).map(|(p, _)| *p).collect();
        chart
            .draw_series(pts.into_iter().map(|p| Circle::new(p, radius, color(c).filled())))
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| Circle::new((x + 8, y), 4, color(c).filled()));
    }
    draw_legend(chart)
}

type Chart<'a, DB> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>;

/// The legend box every figure uses.
fn draw_legend<'a, DB: DrawingBackend + 'a>(chart: &mut Chart<'a, DB>) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .label_font((FONT, 12))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| e.to_string())
}

pub(super) fn bounds(points: &[(f64, f64)]) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in points {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    let pad = |lo: f64, hi: f64| {
        let p = if hi > lo { (hi - lo) * 0.08 } else { 0.5 };
        (lo - p)..(hi + p)
    };
    (pad(x0, x1), pad(y0, y1))
}

/// Points of `[n, 2]` tensors coloured by class, one panel per tensor (lecture 000's figure of the
/// Iris inputs and outputs), as a PNG.
///
/// # Errors
/// When a tensor is not `[n, 2]` or the file cannot be written.
pub fn scatter_by_class(
    panels: &[(&str, &crate::Tensor<f32>, [&str; 2])],
    labels: &[usize],
    class_names: &[String],
    png: &Path,
) -> Result<()> {
    register_font();
    for (title, t, _) in panels {
        let (n, w) = t.shape().dims2("scatter_by_class")?;
        if w != 2 || n != labels.len() {
            return Err(Error::shape(
                "scatter_by_class",
                t.shape(),
                format!("panel '{title}' needs [{}, 2]", labels.len()),
            ));
        }
    }
    let size = (520 * panels.len().max(1) as u32, 440);
    let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(png, e))?;
        for (area, (title, t, axes)) in root.split_evenly((1, panels.len().max(1))).iter().zip(panels) {
            let points: Vec<(f64, f64)> = t.data().chunks(2).map(|p| (f64::from(p[0]), f64::from(p[1]))).collect();
            let (xr, yr) = bounds(&points);
            let mut chart = ChartBuilder::on(area)
                .caption(*title, (FONT, 18))
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(45)
                .build_cartesian_2d(xr, yr)
                .map_err(|e| plot_error(png, e))?;
            chart
                .configure_mesh()
                .x_desc(axes[0])
                .y_desc(axes[1])
                .label_style((FONT, 12))
                .draw()
                .map_err(|e| plot_error(png, e))?;
            draw_classes(&mut chart, &points, labels, class_names, 4).map_err(|e| plot_error(png, e))?;
        }
        root.present().map_err(|e| plot_error(png, e))?;
    }
    write_atomic(png, &encode_png(&pixels, size).map_err(|e| plot_error(png, e))?)
}

/// The class a 2-input classifier gives to each point of a grid over the data, shaded, with the
/// data points on top (lecture 001's pass/fail picture), as a PNG. `predict` maps `[k, 2]` inputs
/// to one class per row.
///
/// # Errors
/// When `x` is not `[n, 2]`, prediction fails, or the file cannot be written.
pub fn decision_regions(
    x: &crate::Tensor<f32>,
    labels: &[usize],
    class_names: &[String],
    axes: [&str; 2],
    predict: impl Fn(&crate::Tensor<f32>) -> Result<Vec<usize>>,
    png: &Path,
) -> Result<()> {
    register_font();
    let (n, w) = x.shape().dims2("decision_regions")?;
    if w != 2 || n != labels.len() {
        return Err(Error::shape("decision_regions", x.shape(), format!("needs [{}, 2]", labels.len())));
    }
    let points: Vec<(f64, f64)> = x.data().chunks(2).map(|p| (f64::from(p[0]), f64::from(p[1]))).collect();
    let (xr, yr) = bounds(&points);
    const STEPS: usize = 120;
    let grid: Vec<f64> = (0..STEPS * STEPS)
        .flat_map(|i| {
            let (gx, gy) = (i % STEPS, i / STEPS);
            [
                xr.start + (xr.end - xr.start) * (gx as f64 + 0.5) / STEPS as f64,
                yr.start + (yr.end - yr.start) * (gy as f64 + 0.5) / STEPS as f64,
            ]
        })
        .collect();
    let classes = predict(&crate::Tensor::from_f64(&grid, [STEPS * STEPS, 2])?)?;
    let size = (560, 480);
    let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(png, e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Decision regions", (FONT, 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(xr.clone(), yr.clone())
            .map_err(|e| plot_error(png, e))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(axes[0])
            .y_desc(axes[1])
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| plot_error(png, e))?;
        let (dx, dy) = ((xr.end - xr.start) / STEPS as f64, (yr.end - yr.start) / STEPS as f64);
        chart
            .draw_series(classes.iter().enumerate().map(|(i, &c)| {
                let (x0, y0) = (xr.start + (i % STEPS) as f64 * dx, yr.start + (i / STEPS) as f64 * dy);
                Rectangle::new([(x0, y0), (x0 + dx, y0 + dy)], color(c).mix(0.25).filled())
            }))
            .map_err(|e| plot_error(png, e))?;
        draw_classes(&mut chart, &points, labels, class_names, 5).map_err(|e| plot_error(png, e))?;
        root.present().map_err(|e| plot_error(png, e))?;
    }
    write_atomic(png, &encode_png(&pixels, size).map_err(|e| plot_error(png, e))?)
}
