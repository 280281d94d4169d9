//! Elementwise ops: one table row each, the function and its derivative side by side.
//!
//! The macro generates, per row, the `Tensor` method and its gradient-check case (in
//! [`checks`], which the gradient-check test iterates), so an op is checked from the moment it
//! exists. The backward
//! rule is shared: `dx = g * df(x, y)` with `y = f(x)`.

use crate::autograd::gradcheck::{op_check, OpCheck, UNARY};
use crate::autograd::Backward;
use crate::error::Result;
use crate::kernel::pool;
use crate::tensor::{Element, Tensor};

/// One elementwise op: its name, value and derivative (`df(x, y, params)` with `y = f(x)`).
/// A type per op (not function pointers) so the loops below inline and vectorize.
trait UnaryFn: Send + Sync + 'static {
    const NAME: &'static str;
    fn f<T: Element>(x: T, params: [T; 2]) -> T;
    fn df<T: Element>(x: T, y: T, params: [T; 2]) -> T;
}

/// The recorded node of an elementwise op: its parameters, and the op as a type.
struct Unary<T: Element, O: UnaryFn> {
    params: [T; 2],
    op: std::marker::PhantomData<O>,
}

impl<T: Element, O: UnaryFn> Backward<T> for Unary<T, O> {
    fn name(&self) -> &'static str {
        O::NAME
    }
    fn backward(&self, x: &[Tensor<T>], y: &Tensor<T>, g: &Tensor<T>) -> Result<Vec<Option<Tensor<T>>>> {
        let p = self.params;
        let values = (x[0].data().iter().zip(y.data()).zip(g.data())).map(|((&x, &y), &g)| g * O::df(x, y, p));
        let data = pool::collect(g.numel(), values);
        Ok(vec![Some(Tensor::from_parts(data, x[0].shape().clone()))])
    }
}

impl<T: Element> Tensor<T> {
    fn unary<O: UnaryFn>(&self, params: [T; 2]) -> Result<Self> {
        let data = pool::collect(self.numel(), self.data().iter().map(|&x| O::f(x, params)));
        Ok(Tensor::from_op(data, self.shape().clone(), &[self], Unary::<T, O> { params, op: std::marker::PhantomData }))
    }
}

fn one<T: Element>() -> T {
    T::one()
}
fn zero<T: Element>() -> T {
    T::zero()
}
fn indicator<T: Element>(condition: bool) -> T {
    if condition {
        T::one()
    } else {
        T::zero()
    }
}
pub(crate) fn sigmoid_of<T: Element>(x: T) -> T {
    // Two branches so exp never overflows: e^-x for x >= 0, e^x otherwise.
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

macro_rules! unary_ops {
    ($(
        $(#[$doc:meta])*
        $name:ident($($p:ident),*) => f: |$x:ident, $fp:pat_param| $f:expr, df: |$dx:pat_param, $dy:pat_param, $dp:pat_param| $df:expr,
            check: |$t:ident| $check:expr, domain: $domain:expr;
    )*) => {
        impl<T: Element> Tensor<T> {
            $(
                $(#[$doc])*
                pub fn $name(&self, $($p: f64),*) -> Result<Self> {
                    let given: &[f64] = &[$($p),*];
                    let mut params = [T::zero(); 2];
                    for (slot, value) in params.iter_mut().zip(given) {
                        *slot = T::of(*value);
                    }
                    struct Op;
                    impl UnaryFn for Op {
                        const NAME: &'static str = stringify!($name);
                        #[inline(always)]
                        fn f<T: Element>($x: T, $fp: [T; 2]) -> T {
                            $f
                        }
                        #[inline(always)]
                        fn df<T: Element>($dx: T, $dy: T, $dp: [T; 2]) -> T {
                            $df
                        }
                    }
                    self.unary::<Op>(params)
                }
            )*
        }

        /// The gradient-check cases of the elementwise ops: each row's `check` over its domain.
        pub(crate) fn checks() -> Vec<OpCheck> {
            vec![$(op_check!(Some(stringify!($name)), stringify!($name), UNARY, $domain, |inputs| {
                let $t = &inputs[0];
                $check
            }),)*]
        }
    };
}

unary_ops! {
    /// `-x`.
    neg() => f: |x, _| -x, df: |_, _, _| -one::<T>(),
        check: |t| t.neg(), domain: (-3.0, 3.0);
    /// `x + c` for a constant `c`.
    add_scalar(c) => f: |x, [c, _]| x + c, df: |_, _, _| one(),
        check: |t| t.add_scalar(0.7), domain: (-3.0, 3.0);
    /// `c * x` for a constant `c`.
    mul_scalar(c) => f: |x, [c, _]| x * c, df: |_, _, [c, _]| c,
        check: |t| t.mul_scalar(-1.5), domain: (-3.0, 3.0);
    /// `x^2`.
    square() => f: |x, _| x * x, df: |x, _, _| x + x,
        check: |t| t.square(), domain: (-3.0, 3.0);
    /// `x^p` for a constant `p` (for `x <= 0` only integer `p` is defined).
    powf(p) => f: |x, [p, _]| x.powf(p), df: |x, _, [p, _]| p * x.powf(p - one()),
        check: |t| t.powf(2.5), domain: (0.1, 3.0);
    /// `sqrt(x)`; derivative `1 / (2 sqrt(x))`.
    sqrt() => f: |x, _| x.sqrt(), df: |_, y, _| T::of(0.5) / y,
        check: |t| t.sqrt(), domain: (0.1, 3.0);
    /// `e^x`.
    exp() => f: |x, _| x.exp(), df: |_, y, _| y,
        check: |t| t.exp(), domain: (-3.0, 3.0);
    /// Natural logarithm; derivative `1 / x`.
    log() => f: |x, _| x.ln(), df: |x, _, _| one::<T>() / x,
        check: |t| t.log(), domain: (0.1, 3.0);
    /// `|x|`; derivative `sign(x)`, 0 at 0.
    abs() => f: |x, _| x.abs(), df: |x, _, _| if x > zero() { one() } else if x < zero() { -one::<T>() } else { zero() },
        check: |t| t.abs(), domain: (-3.0, 3.0);
    /// `cos(x)` (an activation in lecture 004); derivative `-sin(x)`.
    cos() => f: |x, _| x.cos(), df: |x, _, _| -x.sin(),
        check: |t| t.cos(), domain: (-3.0, 3.0);
    /// `sin(x)`; derivative `cos(x)`.
    sin() => f: |x, _| x.sin(), df: |x, _, _| x.cos(),
        check: |t| t.sin(), domain: (-3.0, 3.0);
    /// The error function; derivative `2 / sqrt(pi) * e^(-x^2)`.
    erf() => f: |x, _| x.erf(), df: |x, _, _| T::of(std::f64::consts::FRAC_2_SQRT_PI) * (-x * x).exp(),
        check: |t| t.erf(), domain: (-3.0, 3.0);
    /// `min(max(x, low), high)`; derivative 1 strictly inside, 0 outside.
    // NOTE: comparisons, not max/min, so a NaN passes through instead of becoming a bound.
    clamp(low, high) => f: |x, [lo, hi]| if x < lo { lo } else if x > hi { hi } else { x }, df: |x, _, [lo, hi]| indicator(x > lo && x < hi),
        check: |t| t.clamp(-1.0, 0.5), domain: (-3.0, 3.0);
    /// Logistic sigmoid `1 / (1 + e^-x)`, computed without overflow; derivative `y (1 - y)`.
    sigmoid() => f: |x, _| sigmoid_of(x), df: |_, y, _| y * (one::<T>() - y),
        check: |t| t.sigmoid(), domain: (-6.0, 6.0);
    /// Hyperbolic tangent; derivative `1 - y^2`.
    tanh() => f: |x, _| x.tanh(), df: |_, y, _| one::<T>() - y * y,
        check: |t| t.tanh(), domain: (-3.0, 3.0);
    /// `max(x, 0)`. Derivative 1 for `x > 0` and 0 otherwise, so 0 at 0 (lecture 004).
    // NOTE: composing as max(x, 0) through `maximum` would send half the gradient at a tie.
    // NOTE: not x.max(0), which turns NaN into 0 and hides it (PyTorch's relu keeps NaN).
    relu() => f: |x, _| if x <= zero() { zero() } else { x }, df: |x, _, _| indicator(x > zero()),
        check: |t| t.relu(), domain: (-3.0, 3.0);
    /// `x` for `x > 0`, `alpha x` otherwise.
    leaky_relu(alpha) => f: |x, [a, _]| if x > zero() { x } else { a * x }, df: |x, _, [a, _]| if x > zero() { one() } else { a },
        check: |t| t.leaky_relu(0.1), domain: (-3.0, 3.0);
    /// `x` for `x > 0`, `alpha (e^x - 1)` otherwise; derivative 1 or `y + alpha`.
    elu(alpha) => f: |x, [a, _]| if x > zero() { x } else { a * x.exp_m1() }, df: |x, y, [a, _]| if x > zero() { one() } else { y + a },
        check: |t| t.elu(1.3), domain: (-3.0, 3.0);
    /// `ln(1 + e^x)` as `max(x, 0) + ln(1 + e^-|x|)` (no overflow); derivative `sigmoid(x)`.
    softplus() => f: |x, _| x.max(zero()) + (-x.abs()).exp().ln_1p(), df: |x, _, _| sigmoid_of(x),
        check: |t| t.softplus(), domain: (-6.0, 6.0);
    /// Hard tanh: `x` clipped to [-1, 1]; derivative 1 inside, 0 outside.
    hard_tanh() => f: |x, _| if x < -one::<T>() { -one::<T>() } else if x > one() { one() } else { x }, df: |x, _, _| indicator(x > -one::<T>() && x < one()),
        check: |t| t.hard_tanh(), domain: (-3.0, 3.0);
    /// The perceptron's unit step: 1 for `x >= 0`, else 0. Its derivative is 0 everywhere (and
    /// undefined at 0), so no gradient flows through it: train perceptrons with the perceptron
    /// rule or a smooth surrogate.
    step() => f: |x, _| indicator(x >= zero()), df: |_, _, _| zero(),
        check: |t| t.step(), domain: (-3.0, 3.0);
}

#[cfg(test)]
mod tests {
    use crate::{gradcheck, GradcheckConfig, Tensor};

    /// A wrong derivative is caught: the check can fail.
    #[test]
    fn a_wrong_derivative_fails_the_check() {
        let x = Tensor::<f64>::from_f64(&[0.3, -0.7, 1.1], [3]).unwrap();
        struct BadTanh;
        impl super::UnaryFn for BadTanh {
            const NAME: &'static str = "bad_tanh";
            fn f<T: crate::Element>(x: T, _: [T; 2]) -> T {
                x.tanh()
            }
            fn df<T: crate::Element>(_: T, y: T, _: [T; 2]) -> T {
                T::of(1.001) * (T::one() - y * y)
            }
        }
        let wrong = |t: &[Tensor<f64>]| t[0].unary::<BadTanh>([0.0; 2]);
        let report = gradcheck(wrong, &[x], &GradcheckConfig::default()).unwrap();
        assert!(!report.passed, "{report}");
        assert!(report.normwise_rel_error > 5e-4, "{report}");
    }
}
