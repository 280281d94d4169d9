//! Batched iteration over an in-memory dataset: batch size, seeded shuffling each epoch, and an
//! optional drop of the last partial batch. `fit` iterates with it.

use crate::error::{Error, Result};
use crate::rng::{seeded_rng, Rng};
use crate::tensor::{Element, Tensor};
use rand::seq::SliceRandom;

/// Batches of rows of `(x, y)`, reshuffled at every [`DataLoader::epoch`] when shuffling is on.
///
/// ```
/// use strata::data::loader::DataLoader;
/// use strata::Tensor;
/// let x = Tensor::<f32>::zeros([10, 3]);
/// let y = Tensor::<f32>::zeros([10]);
/// let mut loader = DataLoader::new(&x, &y, 4).unwrap().shuffle(7).drop_last(true);
/// let sizes: Vec<usize> = loader.epoch().map(|b| b.unwrap().0.dims()[0]).collect();
/// assert_eq!(sizes, vec![4, 4]);
/// ```
pub struct DataLoader<'a, T: Element = f32> {
    x: &'a Tensor<T>,
    y: &'a Tensor<T>,
    batch_size: usize,
    rng: Option<Rng>,
    drop_last: bool,
    order: Vec<usize>,
}

impl<'a, T: Element> DataLoader<'a, T> {
    /// Batches of `batch_size` rows, in order.
    ///
    /// # Errors
    /// When the batch size is 0, the dataset is empty, or `x` and `y` differ in rows.
    pub fn new(x: &'a Tensor<T>, y: &'a Tensor<T>, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::invalid("DataLoader", "batch_size must be > 0, got 0"));
        }
        let n = x.dims().first().copied().unwrap_or(0);
        if n == 0 {
            return Err(Error::shape("DataLoader", x.shape(), "the dataset is empty"));
        }
        if y.dims().first() != Some(&n) {
            return Err(Error::mismatch(
                "DataLoader",
                x.shape(),
                y.shape(),
                "inputs and targets must have the same number of rows",
            ));
        }
        Ok(DataLoader { x, y, batch_size, rng: None, drop_last: false, order: (0..n).collect() })
    }

    /// Reshuffle the rows at every epoch with a generator seeded by `seed`.
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.rng = Some(seeded_rng(seed));
        self
    }

    /// Leave out the last batch when it is smaller than `batch_size`.
    pub fn drop_last(mut self, drop: bool) -> Self {
        self.drop_last = drop;
        self
    }

    /// Batches per epoch.
    pub fn len(&self) -> usize {
        let n = self.order.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// Whether an epoch yields no batch (only with `drop_last` and fewer rows than a batch).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where the loader stands between epochs, for training checkpoints: the current row order
    /// (each epoch shuffles the previous one) and how far the shuffling stream has advanced.
    pub fn position(&self) -> (Vec<usize>, Option<u128>) {
        (self.order.clone(), self.rng.as_ref().map(Rng::get_word_pos))
    }

    /// Return to a [`DataLoader::position`].
    ///
    /// # Errors
    /// When `order` is not a permutation of this dataset's rows, or a stream position is given
    /// to a loader that does not shuffle (or none to one that does).
    pub fn set_position(&mut self, order: Vec<usize>, stream: Option<u128>) -> Result<()> {
        let n = self.order.len();
        let mut seen = vec![false; n];
        for &row in &order {
            match seen.get_mut(row) {
                Some(s) if !*s => *s = true,
                _ => {
                    return Err(Error::invalid(
                        "DataLoader position",
                        format!("row order is not a permutation of the {n} rows (row {row} out of range or repeated)"),
                    ))
                }
            }
        }
        if order.len() != n {
            return Err(Error::invalid(
                "DataLoader position",
                format!("{} rows in the order, the data has {n}", order.len()),
            ));
        }
        match (self.rng.as_mut(), stream) {
            (Some(rng), Some(position)) => rng.set_word_pos(position),
            (None, None) => {}
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::invalid("DataLoader position", "shuffling differs from the saved loader's"))
            }
        }
        self.order = order;
        Ok(())
    }

    /// One pass over the data: `(x_batch, y_batch)` for each batch.
    pub fn epoch(&mut self) -> impl Iterator<Item = Result<(Tensor<T>, Tensor<T>)>> + '_ {
        if let Some(rng) = self.rng.as_mut() {
            self.order.shuffle(rng);
        }
        let (x, y, batches) = (self.x, self.y, self.len());
        self.order
            .chunks(self.batch_size)
            .take(batches)
            .map(move |rows| Ok((x.index_select(rows)?, y.index_select(rows)?)))
    }
}
