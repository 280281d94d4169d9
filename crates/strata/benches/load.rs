//! Time to load Fashion-MNIST (60,000 + 10,000 gzip IDX images) from `../shared/data`.
//! Run: `cargo bench -p strata --bench load` (skips when the data is absent).

use std::path::Path;
use std::time::Instant;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fashion-mnist");
    if !dir.exists() {
        println!("skipped: {} is absent", dir.display());
        return;
    }
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let train = strata::data::idx::read_idx(dir.join("train-images-idx3-ubyte.gz")).expect("readable");
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(train.dims, vec![60000, 28, 28]);
    }
    println!("read 60,000 training images (gzip IDX): {best:.3}s (best of 5)");
    let start = Instant::now();
    let all = strata::data::idx::load_mnist_dir::<f32>(&dir).expect("readable");
    println!(
        "load_mnist_dir (train + test, scaled to f32 tensors): {:.3}s for {} + {} images",
        start.elapsed().as_secs_f64(),
        all.x_train.dims()[0],
        all.x_test.dims()[0]
    );
}
