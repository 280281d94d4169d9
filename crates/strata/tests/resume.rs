//! Resuming training: a run interrupted after k epochs and resumed from its checkpoint ends bit
//! for bit where an uninterrupted run ends (weights, optimizer buffers and steps, learning rate,
//! random streams, callbacks' counters, history); changed settings and damaged checkpoints are
//! refused with messages naming the difference.

use std::path::{Path, PathBuf};
use strata::data::augment::Augmentation;
use strata::loss::Loss;
use strata::nn::{Activation, DenseConfig, DropConnectConfig, DropoutConfig, Sequential};
use strata::optim::{Adam, Clip, OptimizerConfig, Schedule};
use strata::train::{
    Callback, Checkpoint, Control, CsvLogger, EarlyStopping, FitConfig, Metric, Model, ReduceLrOnPlateau,
};
use strata::{Error, Result, Tensor};

const EPOCHS: usize = 14;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("strata-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every kind of state a resume must carry: dropout and drop-connect streams, Adam's buffers
/// under a schedule and clipping, shuffling, augmentation noise, a held-out split, and callbacks
/// with counters (ReduceLROnPlateau lowers the rate on the way, so the restored rate matters).
fn model() -> Model<f64> {
    let mut net = Sequential::<f64>::new([2], 3);
    net.push(DenseConfig::new(16).activation(Activation::Relu).into()).unwrap();
    net.push(DropoutConfig::new(0.3).into()).unwrap();
    net.push(DropConnectConfig::new(DenseConfig::new(8).activation(Activation::Tanh), 0.2).into()).unwrap();
    net.push(DenseConfig::new(2).into()).unwrap();
    let optimizer = OptimizerConfig::Adam(Adam { amsgrad: true, ..Adam::new(0.02) })
        .build()
        .unwrap()
        .with_schedule(Schedule::CosineDecay { decay_steps: 40, alpha: 0.1 })
        .with_clip(Clip::GlobalNorm(1.0));
    Model::new(net, optimizer, Loss::MeanSquaredError, &[Metric::MeanAbsoluteError]).unwrap()
}

fn config(checkpoint: &Path) -> FitConfig<f64> {
    FitConfig {
        epochs: EPOCHS,
        batch_size: 16,
        seed: 11,
        validation_split: 0.2,
        verbose: 0,
        augment: Some(Augmentation { noise: 0.05, ..Augmentation::default() }),
        checkpoint: Some(checkpoint.to_path_buf()),
        ..FitConfig::default()
    }
}

fn data() -> (Tensor<f64>, Tensor<f64>) {
    let split = strata::data::iris::lecture_regression_split::<f64>().unwrap();
    (split.0, split.1)
}

struct Callbacks {
    early: EarlyStopping<f64>,
    plateau: ReduceLrOnPlateau,
    csv: CsvLogger,
}

impl Callbacks {
    fn new(csv: PathBuf) -> Self {
        let mut plateau = ReduceLrOnPlateau::new("val_loss");
        (plateau.patience, plateau.factor) = (1, 0.5);
        Callbacks {
            early: EarlyStopping::new("val_loss", 100).restore_best_weights(true),
            plateau,
            csv: CsvLogger::new(csv),
        }
    }
}

/// Fails the run at the end of an epoch, as a crash would: after the other callbacks, before
/// the checkpoint of that epoch is written.
struct CrashAt(usize);

impl Callback<f64> for CrashAt {
    fn on_epoch_end(&mut self, epoch: usize, _logs: &[(String, f64)], _model: &mut Model<f64>) -> Result<Control> {
        if epoch == self.0 {
            return Err(Error::invalid("test", "simulated crash"));
        }
        Ok(Control::Continue)
    }
}

fn weights_bits(model: &Model<f64>) -> Vec<u64> {
    model.get_weights().iter().flat_map(|w| w.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>()).collect()
}

#[test]
fn an_interrupted_and_resumed_fit_is_bit_identical_to_an_uninterrupted_one() {
    let d = dir("bits");
    let (x, y) = data();

    let straight_path = d.join("straight.strata");
    let mut straight = model();
    let mut cb = Callbacks::new(d.join("straight.csv"));
    let history = straight
        .fit_with_callbacks(&x, &y, &config(&straight_path), &mut [&mut cb.early, &mut cb.plateau, &mut cb.csv])
        .unwrap();
    assert_eq!(history.epochs(), EPOCHS);
    let rates = history.get("learning_rate").unwrap();
    assert!(rates.windows(2).any(|w| w[1] < w[0] * 0.6), "ReduceLROnPlateau never acted: {rates:?}");

    for crash_epoch in [1, 6, EPOCHS - 1] {
        let path = d.join(format!("resumed-{crash_epoch}.strata"));
        let mut first = model();
        let mut cb = Callbacks::new(d.join(format!("resumed-{crash_epoch}.csv")));
        let e = first
            .fit_with_callbacks(
                &x,
                &y,
                &config(&path),
                &mut [&mut cb.early, &mut cb.plateau, &mut cb.csv, &mut CrashAt(crash_epoch)],
            )
            .unwrap_err();
        assert!(e.to_string().contains("simulated crash"), "{e}");
        let checkpoint = Checkpoint::<f64>::load(&path).unwrap();
        assert_eq!((checkpoint.epochs_done(), checkpoint.finished()), (crash_epoch, false));

        // A new process would build everything afresh: a new model and new callbacks.
        let mut resumed = model();
        let mut cb = Callbacks::new(d.join(format!("resumed-{crash_epoch}.csv")));
        let history_resumed = resumed
            .resume_with_callbacks(
                &x,
                &y,
                &config(&path),
                &mut [&mut cb.early, &mut cb.plateau, &mut cb.csv],
                &checkpoint,
            )
            .unwrap();
        assert_eq!(history_resumed.to_csv(), history.to_csv(), "history after a crash at epoch {crash_epoch}");
        assert_eq!(weights_bits(&resumed), weights_bits(&straight), "weights after a crash at epoch {crash_epoch}");
        // The final checkpoints hold optimizer buffers, steps, rate, streams and counters: equal
        // bytes mean every part of the state continued exactly.
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&straight_path).unwrap(), "crash at {crash_epoch}");
        assert_eq!(
            std::fs::read_to_string(d.join(format!("resumed-{crash_epoch}.csv"))).unwrap(),
            std::fs::read_to_string(d.join("straight.csv")).unwrap()
        );
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn early_stopping_counters_survive_a_resume() {
    let d = dir("early");
    let (x, y) = data();
    let run = |path: &Path, crash: Option<usize>, resume: Option<&Checkpoint<f64>>| {
        let mut m = model();
        let mut early = EarlyStopping::new("val_loss", 3).restore_best_weights(true);
        let config = FitConfig { epochs: 200, ..config(path) };
        let result = match (crash, resume) {
            (Some(k), _) => m.fit_with_callbacks(&x, &y, &config, &mut [&mut early, &mut CrashAt(k)]),
            (None, Some(c)) => m.resume_with_callbacks(&x, &y, &config, &mut [&mut early], c),
            (None, None) => m.fit_with_callbacks(&x, &y, &config, &mut [&mut early]),
        };
        (result, early.stopped_epoch, weights_bits(&m))
    };
    let (history, stopped, weights) = run(&d.join("a.strata"), None, None);
    let stopped = stopped.expect("patience 3 stops well before 200 epochs");
    // Crash two epochs before the stop, while the counter is running.
    let _ = run(&d.join("b.strata"), Some(stopped - 1), None);
    let checkpoint = Checkpoint::load(&d.join("b.strata")).unwrap();
    let (resumed, stopped_resumed, weights_resumed) = run(&d.join("b.strata"), None, Some(&checkpoint));
    assert_eq!(stopped_resumed, Some(stopped));
    assert_eq!(resumed.unwrap().to_csv(), history.unwrap().to_csv());
    assert_eq!(weights_resumed, weights, "restored best weights differ");
    // A finished checkpoint trains no further and gives the same result again.
    let finished = Checkpoint::load(&d.join("b.strata")).unwrap();
    assert!(finished.finished());
    let (again, _, weights_again) = run(&d.join("c.strata"), None, Some(&finished));
    assert_eq!(again.unwrap().epochs(), stopped + 1);
    assert_eq!(weights_again, weights);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn resuming_with_other_settings_or_data_is_refused_naming_the_difference() {
    let d = dir("refuse");
    let (x, y) = data();
    let path = d.join("c.strata");
    let mut m = model();
    let short = FitConfig { epochs: 2, ..config(&path) };
    let _ = m.fit_with_callbacks(&x, &y, &FitConfig { epochs: 2, ..short.clone() }, &mut [&mut CrashAt(1)]);
    let checkpoint = Checkpoint::load(&path).unwrap();
    let resume = |config: &FitConfig<f64>, x: &Tensor<f64>| {
        model().resume_with_callbacks(x, &y, config, &mut [], &checkpoint).unwrap_err().to_string()
    };
    let e = resume(&FitConfig { batch_size: 8, ..short.clone() }, &x);
    assert!(e.contains("batch_size: 16 in the checkpoint, 8 now"), "{e}");
    // More epochs than planned is a longer run, not a different one (the CLI's trust tests
    // resume a run to more epochs); the seed is a difference.
    let e = resume(&FitConfig { seed: 12, epochs: 3, ..short.clone() }, &x);
    assert!(e.contains("seed: 11 in the checkpoint, 12 now") && !e.contains("epochs"), "{e}");
    let e =
        resume(&short, &Tensor::from_vec(x.data().iter().map(|v| v * 1.0001).collect(), x.dims().to_vec()).unwrap());
    assert!(e.contains("training inputs"), "{e}");
    let other = Model::new(
        {
            let mut net = Sequential::<f64>::new([2], 3);
            net.push(DenseConfig::new(2).into()).unwrap();
            net
        },
        OptimizerConfig::Adam(Adam::new(0.02)).build().unwrap(),
        Loss::MeanSquaredError,
        &[Metric::MeanAbsoluteError],
    )
    .unwrap()
    .resume_with_callbacks(&x, &y, &short, &mut [], &checkpoint)
    .unwrap_err()
    .to_string();
    assert!(other.contains("network:") && other.contains("optimizer:"), "{other}");
    // A callback with state the checkpoint does not have.
    let mut early = EarlyStopping::new("val_loss", 3);
    let e = model().resume_with_callbacks(&x, &y, &short, &mut [&mut early], &checkpoint).unwrap_err().to_string();
    assert!(e.contains("callbacks with state:  in the checkpoint, EarlyStopping now"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn damaged_checkpoints_are_refused_naming_the_file_and_the_part() {
    let d = dir("damaged");
    let (x, y) = data();
    let path = d.join("c.strata");
    let mut m = model();
    m.fit_with_callbacks(&x, &y, &FitConfig { epochs: 2, ..config(&path) }, &mut []).unwrap();
    let good = std::fs::read(&path).unwrap();
    let load = |bytes: &[u8]| Checkpoint::<f64>::from_bytes(bytes, Path::new("c.strata")).unwrap_err().to_string();
    let e = load(&good[..good.len() / 2]);
    assert!(e.contains("c.strata") && e.contains("not a valid safetensors file"), "{e}");
    let e = load(b"");
    assert!(e.contains("not a valid safetensors file"), "{e}");
    // A plain weights file is not a checkpoint.
    m.save_weights(d.join("w.safetensors")).unwrap();
    let e = load(&std::fs::read(d.join("w.safetensors")).unwrap());
    assert!(e.contains("not a strata training checkpoint"), "{e}");
    // Another element type.
    let e = Checkpoint::<f32>::load(&path).unwrap_err().to_string();
    assert!(e.contains("f64 values, the model f32"), "{e}");
    // A header edited to claim a tensor that is not there.
    let edit = |from: &str, to: &str| {
        let at = good.windows(from.len()).position(|w| w == from.as_bytes()).expect("the header's layout changed");
        let mut bytes = good.clone();
        bytes[at..at + from.len()].copy_from_slice(to.as_bytes());
        bytes
    };
    let e = load(&edit("\\\"epochs_done\\\":2", "\\\"epochs_done\\\":3"));
    assert!(e.contains("history has 2 rows for 3 completed epochs"), "{e}");
    let e = load(&edit("\\\"learning_rate_bits\\\"", "\\\"learning_rate_bitz\\\""));
    assert!(e.contains("checkpoint header") && e.contains("learning_rate_bitz"), "{e}");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_checkpoint_reports_its_progress() {
    let d = dir("progress");
    let (x, y) = data();
    let path = d.join("c.strata");
    model().fit(&x, &y, &FitConfig { epochs: 3, ..config(&path) }).unwrap();
    let c = Checkpoint::<f64>::load(&path).unwrap();
    assert_eq!((c.epochs_done(), c.finished(), c.history().epochs()), (3, true, 3));
    // 96 training rows after the 20% split, batches of 16: 6 steps per epoch.
    assert_eq!(c.iterations(), 18);
    assert!(c.settings().iter().any(|(k, v)| k == "batch_size" && v == "16"));
    std::fs::remove_dir_all(&d).unwrap();
}
