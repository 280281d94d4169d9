//! The Keras-style `summary()` table shared by every network: name (type), output shape,
//! parameter count, then total, trainable and non-trainable parameters.

use super::{Layer, Param};
use crate::shape::Shape;
use crate::tensor::Element;

/// One row of `summary()`.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    /// Layer name.
    pub name: String,
    /// Layer type.
    pub kind: String,
    /// Per-sample output shape.
    pub output_shape: Shape,
    /// Parameter count.
    pub params: usize,
}

impl SummaryRow {
    /// The row of a network's input.
    pub fn input(shape: &Shape) -> Self {
        SummaryRow { name: "input".into(), kind: "InputLayer".into(), output_shape: shape.clone(), params: 0 }
    }

    /// The row of a layer with its output shape.
    pub fn of<T: Element>(layer: &dyn Layer<T>, output_shape: &Shape) -> Self {
        SummaryRow {
            name: layer.name().to_string(),
            kind: layer.kind().to_string(),
            output_shape: output_shape.clone(),
            params: layer.params().iter().map(|p| p.numel()).sum(),
        }
    }
}

/// The table as Keras prints it: columns of 34, 25 and 10 characters, the first two widened
/// (and the rules with them) when a name or a shape is longer, so no column runs into the next.
pub(crate) fn render<T: Element>(model_name: &str, rows: &[SummaryRow], params: &[&Param<T>]) -> String {
    let label = |row: &SummaryRow| format!("{} ({})", row.name, row.kind);
    let shape = |row: &SummaryRow| {
        let dims: Vec<String> = row.output_shape.dims().iter().map(|d| d.to_string()).collect();
        format!("(None, {})", dims.join(", "))
    };
    let first = rows.iter().map(|r| label(r).chars().count() + 1).max().unwrap_or(0).max(34);
    let second = rows.iter().map(|r| shape(r).chars().count() + 1).max().unwrap_or(0).max(25);
    let width = first + second + 13;
    let rule = "_".repeat(width);
    let thick = "=".repeat(width);
    let mut s = format!(
        "Model: \"{model_name}\"\n{rule}\n {:<first$}{:<second$}{:>10}\n{thick}\n",
        "Layer (type)", "Output Shape", "Param #"
    );
    for row in rows {
        s += &format!(" {:<first$}{:<second$}{:>10}\n", label(row), shape(row), group_thousands(row.params));
    }
    let total: usize = params.iter().map(|p| p.numel()).sum();
    let trainable: usize = params.iter().filter(|p| p.trainable()).map(|p| p.numel()).sum();
    s += &format!(
        "{thick}\nTotal params: {}\nTrainable params: {}\nNon-trainable params: {}\n{rule}\n",
        group_thousands(total),
        group_thousands(trainable),
        group_thousands(total - trainable)
    );
    s
}

/// 4354 -> "4,354".
pub(crate) fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
