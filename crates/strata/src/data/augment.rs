//! Data augmentation (lecture 000: "create new examples by rotating, scaling and changing
//! colour"), applied to each training batch on the fly, seeded so runs repeat.
//!
//! Images (`[n, rows, cols]`): a random horizontal flip, rotation, shift and zoom, resampled
//! bilinearly about the centre (outside pixels are 0), then a brightness shift and Gaussian noise.
//! Tables (`[n, features]`): Gaussian noise.

use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::tensor::{Element, Tensor};
use rand::Rng as _;
use rand_distr::{Distribution, Normal};

/// How each training batch is perturbed. All ranges are symmetric: a value `r` draws from `[-r, r]`.
/// In a spec: `[data] augment = { flip_horizontal = 0.5, rotation = 10, ... }` (every key optional).
#[derive(Clone, Debug, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Augmentation {
    /// Probability of mirroring an image left-right.
    pub flip_horizontal: f64,
    /// Largest rotation, in degrees.
    pub rotation: f64,
    /// Largest shift, as a fraction of the image size.
    pub shift: f64,
    /// Largest zoom change, as a fraction (0.1: 90% to 110%).
    pub zoom: f64,
    /// Largest brightness change, added to every pixel.
    pub brightness: f64,
    /// Standard deviation of Gaussian noise added to every value (images and tables).
    pub noise: f64,
}

impl Augmentation {
    /// Check the ranges.
    ///
    /// # Errors
    /// When a value is negative or not finite, or the flip probability exceeds 1.
    pub fn validate(&self) -> Result<()> {
        let fields = [
            ("flip_horizontal", self.flip_horizontal),
            ("rotation", self.rotation),
            ("shift", self.shift),
            ("zoom", self.zoom),
            ("brightness", self.brightness),
            ("noise", self.noise),
        ];
        for (name, v) in fields {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::invalid("augment", format!("{name} must be finite and >= 0, got {v}")));
            }
        }
        if self.flip_horizontal > 1.0 || self.zoom >= 1.0 {
            return Err(Error::invalid("augment", "flip_horizontal is a probability (<= 1) and zoom a fraction (< 1)"));
        }
        Ok(())
    }

    /// A perturbed copy of the batch `x`.
    ///
    /// # Errors
    /// When `x` is neither a table `[n, features]` nor images `[n, rows, cols]`.
    pub fn apply<T: Element>(&self, x: &Tensor<T>, rng: &mut Rng) -> Result<Tensor<T>> {
        let geometric = self.flip_horizontal > 0.0 || self.rotation > 0.0 || self.shift > 0.0 || self.zoom > 0.0;
        let mut data = match x.rank() {
            3 => {
                let (n, rows, cols) = x.shape().dims3("augment")?;
                let mut out = x.to_vec();
                for i in 0..n {
                    let image = &mut out[i * rows * cols..(i + 1) * rows * cols];
                    if geometric {
                        self.transform_image(image, rows, cols, rng);
                    }
                    if self.brightness > 0.0 {
                        let delta = T::of(rng.gen_range(-self.brightness..=self.brightness));
                        image.iter_mut().for_each(|p| *p = *p + delta);
                    }
                }
                out
            }
            2 if geometric || self.brightness > 0.0 => {
                return Err(Error::shape(
                    "augment",
                    x.shape(),
                    "flip, rotation, shift, zoom and brightness need images [n, rows, cols]",
                ))
            }
            2 => x.to_vec(),
            _ => return Err(Error::shape("augment", x.shape(), "expected [n, features] or [n, rows, cols]")),
        };
        if self.noise > 0.0 {
            let normal = Normal::new(0.0, self.noise).map_err(|e| Error::invalid("augment", e.to_string()))?;
            data.iter_mut().for_each(|v| *v = *v + T::of(normal.sample(rng)));
        }
        Tensor::from_vec(data, x.shape().clone())
    }

    /// Resample one image through a random flip, rotation, zoom and shift (inverse mapping:
    /// each output pixel reads the input where the transform sends it from).
    fn transform_image<T: Element>(&self, image: &mut [T], rows: usize, cols: usize, rng: &mut Rng) {
        let flip = rng.gen::<f64>() < self.flip_horizontal;
        let angle = if self.rotation > 0.0 { rng.gen_range(-self.rotation..=self.rotation).to_radians() } else { 0.0 };
        let scale = if self.zoom > 0.0 { 1.0 + rng.gen_range(-self.zoom..=self.zoom) } else { 1.0 };
        let (dx, dy) = if self.shift > 0.0 {
            (
                rng.gen_range(-self.shift..=self.shift) * cols as f64,
                rng.gen_range(-self.shift..=self.shift) * rows as f64,
            )
        } else {
            (0.0, 0.0)
        };
        let source: Vec<f64> = image.iter().map(|v| v.f64()).collect();
        let (cy, cx) = ((rows as f64 - 1.0) / 2.0, (cols as f64 - 1.0) / 2.0);
        let (sin, cos) = angle.sin_cos();
        let at = |r: isize, c: isize| {
            if r >= 0 && c >= 0 && (r as usize) < rows && (c as usize) < cols {
                source[r as usize * cols + c as usize]
            } else {
                0.0
            }
        };
        for r in 0..rows {
            for c in 0..cols {
                let (y, x) = (r as f64 - cy - dy, c as f64 - cx - dx);
                let (y, x) = ((sin * x + cos * y) / scale, (cos * x - sin * y) / scale);
                let x = if flip { -x } else { x };
                let (sy, sx) = (y + cy, x + cx);
                let (y0, x0) = (sy.floor(), sx.floor());
                let (fy, fx) = (sy - y0, sx - x0);
                let (y0, x0) = (y0 as isize, x0 as isize);
                image[r * cols + c] = T::of(
                    (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x0 + 1))
                        + fy * ((1.0 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1)),
                );
            }
        }
    }
}
