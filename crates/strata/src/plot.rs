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

/// The y values of one panel as drawn: log10 of a loss whose values are all positive and span
/// more than a factor of 10 (so epoch 1 does not flatten the rest), else the values themselves
/// with the range clipped to epochs 2 on when epoch 1 lies far outside it. Values that are not
/// [`drawable`] are left out (and counted). Returns the range and the axis label saying which.
struct PanelScale {
    log: bool,
    range: std::ops::Range<f64>,
    label: String,
    skipped: usize,
}

/// Largest magnitude drawn: beyond it a range's span overflows (±1.7e308 spans inf, and the
/// axis would never find its ticks), and no learning curve means anything there.
const MAX_DRAWN: f64 = 1e30;

/// Whether a value is drawn: finite and within ±[`MAX_DRAWN`].
fn drawable(v: f64) -> bool {
    v.is_finite() && v.abs() <= MAX_DRAWN
}

fn panel_scale(name: &str, series: &[&[f64]]) -> PanelScale {
    let finite: Vec<f64> = series.iter().flat_map(|s| s.iter().copied()).filter(|&v| drawable(v)).collect();
    let skipped = series.iter().map(|s| s.len()).sum::<usize>() - finite.len();
    let (lo, hi) = finite.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let lossy = name.ends_with("loss") || name == "mse" || name == "mae";
    let pad = |lo: f64, hi: f64| {
        let (lo, hi) = if lo < hi { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
        let p = (hi - lo) * 0.05;
        (lo - p)..(hi + p)
    };
    if finite.is_empty() {
        return PanelScale { log: false, range: 0.0..1.0, label: name.to_string(), skipped };
    }
    if lossy && lo > 0.0 && hi / lo > 10.0 {
        return PanelScale {
            log: true,
            range: pad(lo.log10(), hi.log10()),
            label: format!("{name} (log scale)"),
            skipped,
        };
    }
    // Linear: clip to epochs 2 on when epoch 1 is more than twice their span away from them.
    let later: Vec<f64> = series.iter().flat_map(|s| s.iter().skip(1).copied()).filter(|&v| drawable(v)).collect();
    let (llo, lhi) = later.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let span = lhi - llo;
    if later.len() >= 2 && span > 0.0 && (hi - lhi > 2.0 * span || llo - lo > 2.0 * span) {
        let (clo, chi) = (llo - 0.5 * span, lhi + 0.5 * span);
        return PanelScale {
            log: false,
            range: clo..chi,
            label: format!("{name} (clipped: epoch 1 off scale)"),
            skipped,
        };
    }
    PanelScale { log: false, range: pad(lo, hi), label: name.to_string(), skipped }
}

/// The y axis of a learning-curve panel: the values as given, or their log10 on a log panel,
/// with ticks at round numbers either way. Plotters would tick a log10 axis at round logarithms
/// (10^-0.2 = 0.631); here a log axis is ticked at 1-9, 1-2-5, 1-3 or 1 times powers of ten,
/// the densest that fits.
struct ValueAxis {
    linear: plotters::coord::types::RangedCoordf64,
    log: bool,
}

impl plotters::coord::ranged1d::Ranged for ValueAxis {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let most = hint.max_num_points();
        if self.log {
            let range = self.linear.range();
            let (first, last) = (range.start.floor() as i32, range.end.ceil() as i32);
            let steps: [&[f64]; 4] =
                [&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0], &[1.0, 2.0, 5.0], &[1.0, 3.0], &[1.0]];
            for mantissas in steps {
                let ticks: Vec<f64> = (first..=last)
                    .flat_map(|decade| mantissas.iter().map(move |m| m.log10() + f64::from(decade)))
                    .filter(|t| range.contains(t))
                    .collect();
                if (2..=most).contains(&ticks.len()) {
                    return ticks;
                }
            }
        }
        self.linear.key_points(hint)
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.linear.range()
    }
}

/// Three significant digits, the notation chosen by size.
fn tick(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:.2e}")
    } else {
        // Zero has no magnitude: its log10 is -inf, which casts to i32::MIN.
        let magnitude = if v == 0.0 { 0 } else { v.abs().log10().floor() as i32 };
        let digits = 2i32.saturating_sub(magnitude).clamp(0, 6) as usize;
        format!("{v:.digits$}")
    }
}

/// Where the curves go: one panel per quantity (loss, then each metric), training and
/// validation on the same axes, whole epochs on x, the legend beside the axes (never over the
/// data), and `marked` (a 1-based epoch and its label, e.g. the epoch early stopping restored)
/// as a dashed line.
fn draw_curves<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    history: &History,
    marked: Option<&(usize, String)>,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let panels: Vec<&str> =
        history.names().into_iter().filter(|n| !n.starts_with("val_") && *n != "learning_rate").collect();
    let areas = root.split_evenly((1, panels.len().max(1)));
    let epochs = history.epochs().max(2);
    for (area, name) in areas.iter().zip(&panels) {
        let (plot_area, legend_area) = area.split_vertically(area.dim_in_pixel().1.saturating_sub(LEGEND_HEIGHT));
        let train = history.get(name).unwrap_or(&[]);
        let val_name = format!("val_{name}");
        let val = history.get(&val_name);
        let scale = panel_scale(name, &[train, val.unwrap_or(&[])]);
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(*name, (FONT, 20))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(1i32..epochs as i32, ValueAxis { linear: scale.range.clone().into(), log: scale.log })
            .map_err(|e| e.to_string())?;
        let log = scale.log;
        let y_formatter = move |v: &f64| tick(if log { 10f64.powf(*v) } else { *v });
        let x_formatter = |e: &i32| e.to_string();
        chart
            .configure_mesh()
            .x_desc("Epoch")
            .y_desc(scale.label.as_str())
            .x_labels(epochs.min(12))
            .x_label_formatter(&x_formatter)
            .y_label_formatter(&y_formatter)
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| e.to_string())?;
        let (y0, y1) = (scale.range.start, scale.range.end);
        let series = |values: &[f64]| -> Vec<(i32, f64)> {
            values
                .iter()
                .enumerate()
                .filter(|(_, v)| drawable(**v) && (!log || **v > 0.0))
                .map(|(i, &v)| ((i + 1) as i32, (if log { v.log10() } else { v }).clamp(y0, y1)))
                .collect()
        };
        let mut legend: Vec<(String, RGBColor, bool)> = vec![("Training".into(), BLUE, false)];
        chart.draw_series(LineSeries::new(series(train), BLUE.stroke_width(2))).map_err(|e| e.to_string())?;
        if let Some(val) = val {
            chart.draw_series(LineSeries::new(series(val), RED.stroke_width(2))).map_err(|e| e.to_string())?;
            legend.push(("Validation".into(), RED, false));
        }
        if let Some((epoch, label)) = marked {
            let at = *epoch as i32;
            chart
                .draw_series(DashedLineSeries::new([(at, y0), (at, y1)], 6, 4, BLACK.stroke_width(1)))
                .map_err(|e| e.to_string())?;
            legend.push((label.clone(), BLACK, true));
        }
        if scale.skipped > 0 {
            legend.push((
                match scale.skipped {
                    1 => "1 value not drawn (NaN, inf or >1e30)".to_string(),
                    n => format!("{n} values not drawn (NaN, inf or >1e30)"),
                },
                RGBColor(127, 127, 127),
                true,
            ));
        }
        draw_legend_beside(&legend_area, &legend).map_err(|e| e.to_string())?;
    }
    root.present().map_err(|e| e.to_string())
}

/// Height of the legend strip under each panel of learning curves.
const LEGEND_HEIGHT: u32 = 46;

/// A legend drawn in its own area (never over the data): a line (dashed when `.2`) and a name
/// per entry, two entries a row.
fn draw_legend_beside<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    entries: &[(String, RGBColor, bool)],
) -> std::result::Result<(), String> {
    let width = area.dim_in_pixel().0 as i32;
    for (i, (name, colour, dashed)) in entries.iter().enumerate() {
        let (x, y) = (70 + (i as i32 % 2) * (width - 70) / 2, 8 + (i as i32 / 2) * 18);
        if *dashed {
            for k in 0..3 {
                area.draw(&PathElement::new(vec![(x + k * 8, y + 6), (x + k * 8 + 5, y + 6)], colour.stroke_width(2)))
                    .map_err(|e| e.to_string())?;
            }
        } else {
            area.draw(&PathElement::new(vec![(x, y + 6), (x + 22, y + 6)], colour.stroke_width(2)))
                .map_err(|e| e.to_string())?;
        }
        area.draw(&Text::new(name.clone(), (x + 28, y), (FONT, 12))).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Learning curves of `history` as a PNG at `png` and an SVG at `svg`.
///
/// # Errors
/// When the history is empty or a file cannot be written.
pub fn learning_curves(history: &History, png: &Path, svg: &Path) -> Result<()> {
    learning_curves_marked(history, None, png, svg)
}

/// [`learning_curves`] with one epoch marked (1-based, with its label), e.g. the one early
/// stopping restored.
///
/// # Errors
/// As [`learning_curves`].
pub fn learning_curves_marked(
    history: &History,
    marked: Option<(usize, String)>,
    png: &Path,
    svg: &Path,
) -> Result<()> {
    register_font();
    if history.epochs() == 0 {
        return Err(Error::invalid("plot", "the history is empty (no epoch was trained)"));
    }
    let panels = history.names().iter().filter(|n| !n.starts_with("val_") && **n != "learning_rate").count().max(1);
    let size = (560 * panels as u32, 420 + LEGEND_HEIGHT);
    let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
    draw_curves(BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area(), history, marked.as_ref())
        .map_err(|e| plot_error(png, e))?;
    write_atomic(png, &encode_png(&pixels, size).map_err(|e| plot_error(png, e))?)?;
    let mut text = String::new();
    draw_curves(SVGBackend::with_string(&mut text, size).into_drawing_area(), history, marked.as_ref())
        .map_err(|e| plot_error(svg, e))?;
    write_atomic(svg, text.as_bytes())
}

/// A 5 x 5 grid of grey images `[n, rows, cols]` (values 0..1) under a title, each with a
/// caption; images flagged in `wrong` get a red frame and a red caption (a misclassified test
/// image), as a PNG. Cells are wide enough for two class names ("Ankle boot / Sneaker").
///
/// # Errors
/// When the images are not rank 3 or the file cannot be written.
pub fn image_grid(
    images: &crate::Tensor<f32>,
    captions: &[String],
    title: &str,
    wrong: &[bool],
    png: &Path,
) -> Result<()> {
    register_font();
    let (n, rows, cols) = images.shape().dims3("image_grid")?;
    let longest = captions.iter().map(|c| c.chars().count()).max().unwrap_or(0) as u32;
    let cell = ((cols as u32 * 4 + 20).max(longest * 7 + 16), rows as u32 * 4 + 40);
    let size = (cell.0 * 5, cell.1 * 5 + 36);
    let mut pixels = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        let (head, grid) = root.split_vertically(36);
        head.draw(&Text::new(title.to_string(), (10, 8), (FONT, 18))).map_err(|e| plot_error(png, e))?;
        for (i, area) in grid.split_evenly((5, 5)).iter().enumerate().take(n.min(25)) {
            let img = &images.data()[i * rows * cols..(i + 1) * rows * cols];
            let left = (cell.0 as i32 - cols as i32 * 4) / 2;
            for (k, &v) in img.iter().enumerate() {
                let shade = 255 - (v.clamp(0.0, 1.0) * 255.0) as u8;
                let (x, y) = (left + (k % cols) as i32 * 4, 30 + (k / cols) as i32 * 4);
                area.draw(&Rectangle::new([(x, y), (x + 4, y + 4)], RGBColor(shade, shade, shade).filled()))
                    .map_err(|e| plot_error(png, e))?;
            }
            let bad = wrong.get(i).copied().unwrap_or(false);
            if bad {
                let frame = [(left - 2, 28), (left + cols as i32 * 4 + 2, 32 + rows as i32 * 4)];
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

/// RGB pixels to PNG bytes (through plotters' image encoder, into memory so the write is atomic).
fn encode_png(pixels: &[u8], (w, h): (u32, u32)) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut out);
    image::ImageEncoder::write_image(encoder, pixels, w, h, image::ColorType::Rgb8).map_err(|e| e.to_string())?;
    Ok(out)
}

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

fn color(class: usize) -> RGBColor {
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

fn bounds(points: &[(f64, f64)]) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
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

#[cfg(test)]
mod tests {
    use super::tick;

    #[test]
    fn ticks_have_three_significant_digits_and_zero_is_plain() {
        assert_eq!(tick(0.0), "0.00");
        assert_eq!(tick(0.8766), "0.877");
        assert_eq!(tick(12.345), "12.3");
        assert_eq!(tick(-2.5), "-2.50");
        assert_eq!(tick(0.0001234), "1.23e-4");
        assert_eq!(tick(123456.0), "1.23e5");
        assert_eq!(tick(f64::NAN), "NaN");
    }
}
