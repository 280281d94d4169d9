//! Products on more than two threads go through gemm's own thread pool, a path this 2-core
//! machine's default never takes. Its own process (an integration test file of its own), since
//! the thread count is global and other tests compare runs bit for bit.

use strata::rng::seeded_rng;
use strata::Tensor;

#[test]
fn products_on_three_and_four_threads_match_the_definition() {
    let mut rng = seeded_rng(9);
    // 2^22.2 and 2^23 multiply-adds: at and above the pool's threshold.
    for &(m, k, n) in &[(160, 160, 192), (256, 256, 128)] {
        let a = Tensor::<f32>::randn([m, k], 0.0, 1.0, &mut rng).unwrap();
        let b = Tensor::<f32>::randn([n, k], 0.0, 1.0, &mut rng).unwrap();
        strata::set_num_threads(1);
        let one = a.matmul_t(false, &b, true).unwrap();
        for threads in [3, 4] {
            strata::set_num_threads(threads);
            let many = a.matmul_t(false, &b, true).unwrap();
            for (i, (&x, &y)) in many.data().iter().zip(one.data()).enumerate() {
                let want: f64 =
                    (0..k).map(|p| f64::from(a.data()[(i / n) * k + p]) * f64::from(b.data()[(i % n) * k + p])).sum();
                assert!(
                    (f64::from(x) - want).abs() <= 1e-3 * (1.0 + want.abs()),
                    "{m}x{k}x{n} on {threads} threads: element {i} is {x}, the definition gives {want} (one thread: {y})"
                );
            }
        }
    }
    strata::set_num_threads(2);
}
