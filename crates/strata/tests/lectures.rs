//! The lectures' worked numbers (../shared/seeds/): the perceptron of 001, the XOR network of 004
//! and the 2-2-2-1 back-propagation example of 000.

use strata::{loss, Tensor};

fn t(values: &[f64], shape: &[usize]) -> Tensor<f64> {
    Tensor::from_f64(values, shape.to_vec()).unwrap()
}

/// 001: w0 = 1, W = [3, -2], x = [-1, 2]: g(1 + 3·(-1) + (-2)·2) = g(-6) = 0.0024726.
#[test]
fn perceptron_of_lecture_001() {
    let x = t(&[-1.0, 2.0], &[1, 2]);
    let w = t(&[3.0, -2.0], &[2, 1]);
    let z = x.matmul(&w).unwrap().add_scalar(1.0).unwrap();
    assert_eq!(z.item().unwrap(), -6.0);
    let y = z.sigmoid().unwrap().item().unwrap();
    assert!((y - 0.0024726).abs() < 5e-8, "sigmoid(-6) = {y}");
    // The same in f32, the training precision.
    let y32 = Tensor::<f32>::from_f64(&[-6.0], [1]).unwrap().sigmoid().unwrap().item().unwrap();
    assert!((y32 - 0.0024726).abs() < 5e-8);
}

/// 004: W = [[1, 1], [1, 1]], c = [0, -1], w = [1, -2], b = 0, ReLU: XOR gives [0, 1, 1, 0].
#[test]
fn xor_network_of_lecture_004() {
    let x = t(&[0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], &[4, 2]);
    let w_hidden = t(&[1.0, 1.0, 1.0, 1.0], &[2, 2]);
    let c = t(&[0.0, -1.0], &[2]);
    let w_out = t(&[1.0, -2.0], &[2, 1]);
    let h = x.matmul(&w_hidden).unwrap().add(&c).unwrap().relu().unwrap();
    assert_eq!(h.to_vec(), vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 2.0, 1.0]);
    let y = h.matmul(&w_out).unwrap().add_scalar(0.0).unwrap();
    assert_eq!(y.to_vec(), vec![0.0, 1.0, 1.0, 0.0]);
}

/// 000: a 2-2-2-1 sigmoid network. dE/dw1 is the sum over the two paths w1 -> a1 -> a3 -> a5
/// and w1 -> a1 -> a4 -> a5; autodiff must give exactly that sum.
#[test]
fn backprop_sum_over_paths_of_lecture_000() {
    let (x1, x2, y) = (0.35, -0.8, 1.0);
    let w = [0.1, -0.4, 0.7, 0.25, -0.6, 0.9, 0.3, -0.2, 0.8, -1.1]; // w1..w10
    let b = [0.05, -0.1, 0.2, 0.0, -0.3]; // b1..b5
                                          // Kernels laid out [inputs, units]: s1 = b1 + w1 x1 + w3 x2, s2 = b2 + w2 x1 + w4 x2,
                                          // s3 = b3 + w5 a1 + w7 a2, s4 = b4 + w6 a1 + w8 a2, s5 = b5 + w9 a3 + w10 a4.
    let w1 = t(&[w[0], w[1], w[2], w[3]], &[2, 2]).with_requires_grad(true);
    let w2 = t(&[w[4], w[5], w[6], w[7]], &[2, 2]).with_requires_grad(true);
    let w3 = t(&[w[8], w[9]], &[2, 1]).with_requires_grad(true);
    let x = t(&[x1, x2], &[1, 2]);
    let a12 = x.matmul(&w1).unwrap().add(&t(&b[0..2], &[2])).unwrap().sigmoid().unwrap();
    let a34 = a12.matmul(&w2).unwrap().add(&t(&b[2..4], &[2])).unwrap().sigmoid().unwrap();
    let a5 = a34.matmul(&w3).unwrap().add(&t(&b[4..5], &[1])).unwrap().sigmoid().unwrap();
    let e = loss::mse(&a5, &t(&[y], &[1, 1])).unwrap(); // E = (y - a5)^2
    let grads = e.backward().unwrap();

    // By hand, with σ'(s) = a (1 - a).
    let sig = |s: f64| 1.0 / (1.0 + (-s).exp());
    let (s1, s2) = (b[0] + w[0] * x1 + w[2] * x2, b[1] + w[1] * x1 + w[3] * x2);
    let (a1, a2) = (sig(s1), sig(s2));
    let (s3, s4) = (b[2] + w[4] * a1 + w[6] * a2, b[3] + w[5] * a1 + w[7] * a2);
    let (a3, a4) = (sig(s3), sig(s4));
    let a5_hand = sig(b[4] + w[8] * a3 + w[9] * a4);
    let d = |a: f64| a * (1.0 - a);
    let de_da5 = -2.0 * (y - a5_hand);
    let path_via_a3 = de_da5 * d(a5_hand) * w[8] * d(a3) * w[4] * d(a1) * x1;
    let path_via_a4 = de_da5 * d(a5_hand) * w[9] * d(a4) * w[5] * d(a1) * x1;
    let de_dw1 = grads.get(&w1).unwrap().data()[0];
    assert!((a5.item().unwrap() - a5_hand).abs() < 1e-15);
    assert!((de_dw1 - (path_via_a3 + path_via_a4)).abs() < 1e-15, "{de_dw1} vs {}", path_via_a3 + path_via_a4);
    // Either path alone is wrong: the sum matters.
    assert!((de_dw1 - path_via_a3).abs() > 1e-6 && (de_dw1 - path_via_a4).abs() > 1e-6);
}
