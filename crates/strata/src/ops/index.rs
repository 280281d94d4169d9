//! Indexing by integer positions: `gather` (one element per row: sparse targets), `index_select`
//! (whole rows: embeddings) and `one_hot`.
//!
//! Both backward rules scatter the gradient back to the positions read, adding where a position
//! was read more than once.

use crate::autograd::gradcheck::{op_check, OpCheck, R};
use crate::autograd::Backward;
use crate::error::{Error, Result};
use crate::kernel::pool;
use crate::shape::Shape;
use crate::tensor::{Element, Tensor};

impl<T: Element> Tensor<T> {
    /// For a `[n, c]` tensor, element `indices[i]` of each row `i`: a `[n]` tensor.
    ///
    /// # Errors
    /// When the tensor is not rank 2, there are not `n` indices, or an index is `>= c`.
    pub fn gather(&self, indices: &[usize]) -> Result<Tensor<T>> {
        let (n, c) = self.shape().dims2("gather")?;
        if indices.len() != n {
            return Err(Error::shape(
                "gather",
                self.shape(),
                format!("needs {n} indices, one per row, got {}", indices.len()),
            ));
        }
        check_indices("gather", indices, c)?;
        let x = self.data();
        let out = indices.iter().enumerate().map(|(i, &j)| x[i * c + j]).collect();
        Ok(Tensor::from_op(out, Shape::new([n]), &[self], Gather { indices: indices.to_vec() }))
    }

    /// Rows `indices` of the first axis, in that order (an embedding lookup).
    ///
    /// # Errors
    /// When the tensor is a scalar or an index is out of range.
    pub fn index_select(&self, indices: &[usize]) -> Result<Tensor<T>> {
        let Some((&rows, rest)) = self.dims().split_first() else {
            return Err(Error::shape("index_select", self.shape(), "needs at least one axis"));
        };
        check_indices("index_select", indices, rows)?;
        let width: usize = rest.iter().product();
        let len = indices.len() * width;
        let mut out = pool::take(len);
        // The left and right halves of the rows on the two cores: a batch of rows scattered
        // over a large dataset is bound by memory latency, which two cores halve, and each
        // core then holds the half of the inputs that its half of a first dense layer's
        // product (split along the inputs, kernel/matmul.rs) reads.
        let split = len * T::BYTES >= SPLIT_MIN_BYTES && width >= 64;
        crate::kernel::gather::gather_rows(self.data(), width, indices, &mut out, split);
        let mut dims = vec![indices.len()];
        dims.extend_from_slice(rest);
        Ok(Tensor::from_op(out, Shape::new(dims), &[self], IndexSelect { indices: indices.to_vec() }))
    }

    /// A `[n, classes]` tensor with a 1 at each label's position.
    ///
    /// # Errors
    /// When a label is `>= classes`.
    pub fn one_hot(labels: &[usize], classes: usize) -> Result<Tensor<T>> {
        check_indices("one_hot", labels, classes)?;
        let mut out = vec![T::zero(); labels.len() * classes];
        for (i, &l) in labels.iter().enumerate() {
            out[i * classes + l] = T::one();
        }
        Ok(Tensor::from_parts(out, Shape::new([labels.len(), classes])))
    }
}

/// From this many bytes of output, `index_select` copies on both cores (a batch of 32
/// Fashion-MNIST images is 100 KB).
const SPLIT_MIN_BYTES: usize = 1 << 15;

fn check_indices(op: &str, indices: &[usize], bound: usize) -> Result<()> {
    match indices.iter().position(|&i| i >= bound) {
        Some(at) => {
            Err(Error::invalid(op, format!("index {} at position {at} is out of range 0..{bound}", indices[at])))
        }
        None => Ok(()),
    }
}

struct Gather {
    indices: Vec<usize>,
}
impl<T: Element> Backward<T> for Gather {
    fn name(&self) -> &'static str {
        "gather"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let c = x[0].dims()[1];
        let mut dx = vec![T::zero(); x[0].numel()];
        for (i, (&j, &gv)) in self.indices.iter().zip(g.data()).enumerate() {
            dx[i * c + j] = gv;
        }
        Ok(vec![Some(Tensor::from_parts(dx, x[0].shape().clone()))])
    }
}

struct IndexSelect {
    indices: Vec<usize>,
}
impl<T: Element> Backward<T> for IndexSelect {
    fn name(&self) -> &'static str {
        "index_select"
    }
    fn backward(&self, x: &[Tensor<T>], _y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let width: usize = x[0].dims()[1..].iter().product();
        let mut dx = vec![T::zero(); x[0].numel()];
        for (&i, row) in self.indices.iter().zip(g.data().chunks(width.max(1))) {
            dx[i * width..(i + 1) * width].iter_mut().zip(row).for_each(|(d, &v)| *d = *d + v);
        }
        Ok(vec![Some(Tensor::from_parts(dx, x[0].shape().clone()))])
    }
}

/// The gradient-check cases of this file's ops (`autograd::op_checks` gathers every file's).
pub(crate) fn checks() -> Vec<OpCheck> {
    vec![
        op_check!(Some("gather"), "gather", &[&[&[4, 3]]], R, |t| t[0].gather(&[2, 0, 1, 2])),
        op_check!(Some("index_select"), "index_select", &[&[&[5, 3]], &[&[5, 2, 2]]], R, |t| t[0]
            .index_select(&[4, 0, 4, 1])),
    ]
}

#[cfg(test)]
mod tests {
    use crate::Tensor;

    /// Large batches are copied in two column halves on two cores: the result is every row in
    /// full, in the order asked, at odd widths too.
    #[test]
    fn index_select_of_large_batches_copies_every_row_whole() {
        for width in [1000, 785, 64] {
            let x = Tensor::<f32>::from_vec((0..300 * width).map(|v| v as f32).collect(), [300, width]).unwrap();
            let rows: Vec<usize> = (0..200).map(|i| (i * 37 + 11) % 300).collect();
            let got = x.index_select(&rows).unwrap();
            assert_eq!(got.dims(), [200, width]);
            for (r, &i) in rows.iter().enumerate() {
                assert_eq!(&got.data()[r * width..(r + 1) * width], &x.data()[i * width..(i + 1) * width], "row {r}");
            }
        }
    }
}
