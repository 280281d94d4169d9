//! Printing tensors: nested brackets like NumPy, long axes elided.

use super::{Element, Tensor};
use std::fmt;

const EDGE: usize = 3;

impl<T: Element> fmt::Display for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_axis(f, self.data(), self.dims())?;
        write!(f, " shape={} {}", self.shape(), T::NAME)
    }
}

impl<T: Element> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn write_axis<T: Element>(f: &mut fmt::Formatter<'_>, data: &[T], dims: &[usize]) -> fmt::Result {
    let Some((&n, rest)) = dims.split_first() else {
        return write!(f, "{:.4}", data.first().copied().unwrap_or_else(T::zero));
    };
    let step: usize = rest.iter().product();
    write!(f, "[")?;
    for i in 0..n {
        if n > 2 * EDGE && i == EDGE {
            write!(f, ", ...")?;
            continue;
        }
        if n > 2 * EDGE && i > EDGE && i < n - EDGE {
            continue;
        }
        if i > 0 {
            write!(f, ", ")?;
        }
        write_axis(f, &data[i * step..(i + 1) * step], rest)?;
    }
    write!(f, "]")
}
