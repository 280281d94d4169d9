//! Learning-rate schedules, evaluated at the optimizer's step count `t` (from 0), as Keras's
//! `LearningRateSchedule`s are.

/// A learning rate that changes with the step count.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Schedule {
    /// `lr · factor^floor(t / every)`.
    StepDecay {
        /// Steps between drops.
        every: u64,
        /// Multiplier at each drop.
        factor: f64,
    },
    /// `lr · rate^(t / decay_steps)` (floored exponent when `staircase`).
    ExponentialDecay {
        /// Steps per factor of `rate`.
        decay_steps: u64,
        /// Decay rate.
        rate: f64,
        /// Whether the exponent is an integer.
        staircase: bool,
    },
    /// `lr · ((1 - alpha) · (1 + cos(pi · min(t, decay_steps) / decay_steps)) / 2 + alpha)`.
    CosineDecay {
        /// Steps to reach the floor.
        decay_steps: u64,
        /// The floor as a fraction of `lr`.
        alpha: f64,
    },
}

// The one table of schedules: each variant, its spec name and its keys with Keras's
// defaults (see `config::kind_table!`).
crate::config::kind_table! { Schedule, "schedule";
    Schedule::StepDecay { .. } = "step_decay" => |f| Schedule::StepDecay {
        every: f.u64("every", 1)?,
        factor: f.f64("factor", 0.5)?,
    };
    Schedule::ExponentialDecay { .. } = "exponential_decay" => |f| Schedule::ExponentialDecay {
        decay_steps: f.u64("decay_steps", 1)?,
        rate: f.f64("rate", 0.96)?,
        staircase: f.bool("staircase", false)?,
    };
    Schedule::CosineDecay { .. } = "cosine_decay" => |f| Schedule::CosineDecay {
        decay_steps: f.u64("decay_steps", 1)?,
        alpha: f.f64("alpha", 0.0)?,
    };
}

impl Schedule {
    /// Checks the factors: step decay's and exponential decay's in (0, 1], cosine's floor
    /// `alpha` in [0, 1] (anything else makes the rate negative, zero or growing without bound).
    ///
    /// # Errors
    /// Naming the schedule, the key and the value.
    pub fn validate(&self) -> crate::Result<()> {
        let (schedule, name, v, ok, expected) = match *self {
            Schedule::StepDecay { factor, .. } => {
                ("step_decay", "factor", factor, factor > 0.0 && factor <= 1.0, "in (0, 1]")
            }
            Schedule::ExponentialDecay { rate, .. } => {
                ("exponential_decay", "rate", rate, rate > 0.0 && rate <= 1.0, "in (0, 1]")
            }
            Schedule::CosineDecay { alpha, .. } => {
                ("cosine_decay", "alpha", alpha, (0.0..=1.0).contains(&alpha), "in [0, 1]")
            }
        };
        super::check_range(schedule, name, v, ok, expected)
    }

    /// The learning rate at step `t` from base `lr`.
    pub fn at(&self, t: u64, lr: f64) -> f64 {
        match *self {
            Schedule::StepDecay { every, factor } => lr * factor.powf((t / every.max(1)) as f64),
            Schedule::ExponentialDecay { decay_steps, rate, staircase } => {
                let p = t as f64 / decay_steps.max(1) as f64;
                lr * rate.powf(if staircase { p.floor() } else { p })
            }
            Schedule::CosineDecay { decay_steps, alpha } => {
                let progress = t.min(decay_steps) as f64 / decay_steps.max(1) as f64;
                lr * ((1.0 - alpha) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()) + alpha)
            }
        }
    }
}
