//! Learning curves as lecture 000 draws them: one panel per quantity, training and validation
//! side by side, the epoch a callback restored marked.

use super::{encode_png, plot_error, register_font, FONT};
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::train::History;
use plotters::prelude::*;
use std::path::Path;

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
