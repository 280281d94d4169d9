//! Copying chosen rows of a table into a new buffer (an embedding lookup, a shuffled batch).

use super::threads::{split_in_two, SendPtr};
use crate::tensor::Element;

/// Append rows `indices` of `table` (rows of `width` elements) to `out`, in that order. With
/// `split`, the left and right halves of the columns are copied on the two cores.
///
/// # Panics
/// When an index is past the table's last row (callers check indices first, with an error).
pub(crate) fn gather_rows<T: Element>(table: &[T], width: usize, indices: &[usize], out: &mut Vec<T>, split: bool) {
    let len = indices.len() * width;
    out.reserve(len);
    let start = out.len();
    let dst = SendPtr(out.spare_capacity_mut().as_mut_ptr().cast::<T>());
    let copy_columns = |columns: std::ops::Range<usize>| {
        for (row, &i) in indices.iter().enumerate() {
            let src = &table[i * width + columns.start..i * width + columns.end];
            // SAFETY: row `row`'s columns lie inside the `len` spare elements reserved above,
            // and the two halves write disjoint columns.
            unsafe { dst.get().add(row * width + columns.start).copy_from_nonoverlapping(src.as_ptr(), src.len()) };
        }
    };
    split_in_two(0..width, split, copy_columns);
    // SAFETY: every row's columns 0..width were written above (a panic above leaves `out`
    // as it was).
    unsafe { out.set_len(start + len) };
}
