//! The training loop: seeded batches, cross-entropy (padding ignored, label
//! smoothing optional), the fast gradient method on the embeddings, gradient
//! clipping, a learning-rate schedule, evaluation on validation data with
//! early stopping, checkpoints and `--resume`.
//!
//! A model folder holds `config.json`, `vocab.src.txt`, `vocab.tgt.txt`
//! (and `bpe.src.txt`, `bpe.tgt.txt` for subword units),
//! `model.safetensors` (the best weights so far), `checkpoint/` (the last
//! weights, the optimiser's moments and `state.json`), `log.csv`,
//! `log.parquet`, `curves.png` and a TensorBoard event file
//! (`events.out.tfevents.*.ore`). Every file is replaced atomically, so a
//! killed run leaves a usable model and a checkpoint to resume from.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ore_core::Progress;
use ore_train::tensorboard;
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor, nn};

use crate::bpe::Bpe;
use crate::config::{Schedule, SelectBy, TrainConfig, Units};
use crate::data::{self, Batch, Encoded, Example, Subwords, Vocabs};
use crate::error::{ModelError, Result};
use crate::log::{self, LogRow};
use crate::model::Seq2Seq;
use crate::optim::Adam;
use crate::vocab::{PAD_ID, Vocab};

pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const SRC_VOCAB_FILE: &str = "vocab.src.txt";
pub const TGT_VOCAB_FILE: &str = "vocab.tgt.txt";
/// The subword merges of `data.units = "bpe"`, one file a side.
pub const SRC_BPE_FILE: &str = "bpe.src.txt";
pub const TGT_BPE_FILE: &str = "bpe.tgt.txt";
const CHECKPOINT_DIR: &str = "checkpoint";
const STATE_FILE: &str = "state.json";

/// What `config.json` holds: enough to rebuild the model and its inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelMeta {
    pub ore_version: String,
    pub train: TrainConfig,
    pub seed: u64,
    pub src_vocab: usize,
    pub tgt_vocab: usize,
    /// The training input and its content hash (eval warns when asked to
    /// score the data the model was trained on).
    pub input: String,
    pub input_hash: String,
    pub train_examples: usize,
    pub valid_examples: usize,
    /// Validation slice held out from a single input dataset, if any.
    pub held_out_fraction: Option<f64>,
}

impl ModelMeta {
    /// A fresh run's record: `vocab` is (source or word units, target
    /// units or tags), `examples` (training, validation).
    pub fn new(
        config: &TrainConfig,
        opts: &TrainOptions,
        vocab: (usize, usize),
        examples: (usize, usize),
    ) -> Self {
        Self {
            ore_version: env!("CARGO_PKG_VERSION").into(),
            train: config.clone(),
            seed: opts.seed,
            src_vocab: vocab.0,
            tgt_vocab: vocab.1,
            input: opts.input_label.clone(),
            input_hash: opts.input_hash.clone(),
            train_examples: examples.0,
            valid_examples: examples.1,
            held_out_fraction: opts.held_out_fraction,
        }
    }

    /// `--resume`: the saved shape and data settings win, the run length
    /// (`epochs`, `max_steps`, `max_minutes`) is `given`'s; returns the
    /// config the run continues with.
    pub fn resumed_with(&mut self, given: &TrainConfig) -> TrainConfig {
        self.train.epochs = given.epochs;
        self.train.max_steps = given.max_steps;
        self.train.max_minutes = given.max_minutes;
        self.train.clone()
    }
}

/// Where training stands (checkpoint/state.json).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TrainState {
    pub step: u64,
    pub epoch: u64,
    /// Batches of `epoch` already done.
    pub batch_in_epoch: u64,
    pub best_valid_loss: Option<f64>,
    /// With `select_by = "f1"`: the best validation F1 (absent in older
    /// checkpoints).
    #[serde(default)]
    pub best_valid_score: Option<f64>,
    pub best_step: u64,
    pub evals_without_improvement: usize,
    pub lr_scale: f64,
    pub elapsed_s: f64,
    /// When training began (Unix seconds): the TensorBoard wall time of a
    /// log row is this plus its `elapsed_s`. Absent in older checkpoints.
    #[serde(default)]
    pub started_unix_s: Option<f64>,
    pub log: Vec<LogRow>,
    pub stopped: Option<String>,
}

/// Run options that are not part of the model's config.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    pub seed: u64,
    /// Continue from `OUTPUT/checkpoint` (its config wins over the given one,
    /// except for `epochs` and `max_steps`).
    pub resume: bool,
    /// Log a row every this many steps (0: 50).
    pub log_every: u64,
    pub input_label: String,
    pub input_hash: String,
    pub held_out_fraction: Option<f64>,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub steps: u64,
    pub epochs: u64,
    pub train_examples: usize,
    pub valid_examples: usize,
    pub best_valid_loss: Option<f64>,
    /// The validation F1 of the kept weights (`select_by = "f1"`).
    pub best_valid_score: Option<f64>,
    pub best_step: u64,
    pub tokens_per_s: f64,
    pub wall_s: f64,
    /// Units a second over the optimisation steps alone (no data loading,
    /// validation or checkpoints): what a training benchmark compares.
    pub step_tokens_per_s: f64,
    /// Seconds from the process's start to this run's first step (Linux).
    pub startup_s: Option<f64>,
    pub stopped: String,
    pub device: String,
}

/// Chooses the device for `cpu|cuda|auto`.
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" if tch::Cuda::is_available() => Ok(Device::Cuda(0)),
        "cuda" => Err(ModelError::config(
            "device cuda asked for, but libtorch sees no CUDA device (a CPU-only libtorch, or no GPU)".into(),
        )),
        _ => Ok(Device::cuda_if_available()),
    }
}

/// Sets libtorch's thread counts (intra-op `n`, inter-op 1).
pub fn set_threads(n: Option<usize>) {
    let n = n.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    tch::set_num_threads(n as i32);
}

/// Tensors of a batch on `device`: source, lengths (CPU), decoder input and
/// output.
pub(crate) fn batch_tensors(b: &Batch, device: Device) -> (Tensor, Tensor, Tensor, Tensor) {
    let rows = b.rows() as i64;
    let src = Tensor::from_slice(&b.src)
        .view([rows, b.src_len as i64])
        .to_device(device);
    let lengths = Tensor::from_slice(&b.src_lengths);
    let tgt_in = Tensor::from_slice(&b.tgt_in)
        .view([rows, b.tgt_len as i64])
        .to_device(device);
    let tgt_out = Tensor::from_slice(&b.tgt_out)
        .view([rows, b.tgt_len as i64])
        .to_device(device);
    (src, lengths, tgt_in, tgt_out)
}

/// Mean cross-entropy over the batch's target units.
pub fn batch_loss(
    model: &Seq2Seq,
    b: &Batch,
    device: Device,
    train: bool,
    teacher_forcing: f64,
    smoothing: f64,
) -> Tensor {
    let (src, lengths, tgt_in, tgt_out) = batch_tensors(b, device);
    let (memory, state) = model.encode(&src, &lengths, train);
    let logits = model.forward(&memory, state, &tgt_in, train, teacher_forcing);
    logits
        .view([-1, model.tgt_vocab()])
        .cross_entropy_loss::<Tensor>(
            &tgt_out.view([-1]),
            None,
            tch::Reduction::Mean,
            PAD_ID,
            smoothing,
        )
}

/// Mean validation loss per target unit (no dropout, teacher forced, no
/// smoothing); `None` without validation data.
pub fn valid_loss(
    model: &Seq2Seq,
    data: &[Encoded],
    config: &TrainConfig,
    device: Device,
) -> Option<f64> {
    if data.is_empty() {
        return None;
    }
    tch::no_grad(|| {
        let mut total = 0.0;
        let mut units = 0usize;
        for b in data::batches(data, &config.data, None) {
            let loss = batch_loss(model, &b, device, false, 1.0, 0.0).double_value(&[]);
            total += loss * b.tgt_units as f64;
            units += b.tgt_units;
        }
        Some(total / units.max(1) as f64)
    })
}

fn lr_at(config: &TrainConfig, step: u64, total: u64, scale: f64) -> f64 {
    let o = &config.optim;
    let step = step + 1;
    let warm = o.warmup_steps;
    let lr = if warm > 0 && step <= warm {
        o.lr * step as f64 / warm as f64
    } else {
        match o.schedule {
            Schedule::Constant | Schedule::Plateau => o.lr,
            Schedule::InverseSqrt => o.lr * (warm.max(1) as f64 / step as f64).sqrt(),
            Schedule::Linear => {
                let span = total.saturating_sub(warm).max(1) as f64;
                let done = step.saturating_sub(warm) as f64;
                o.min_lr + (o.lr - o.min_lr) * (1.0 - done / span).max(0.0)
            }
        }
    };
    (lr * scale).max(o.min_lr.min(o.lr))
}

/// Moves every embedding by `epsilon` along its normalised gradient and
/// returns the perturbations (to undo after the adversarial backward).
pub(crate) fn fgm_attack(embeddings: Vec<&Tensor>, epsilon: f64) -> Vec<(Tensor, Tensor)> {
    tch::no_grad(|| {
        embeddings
            .into_iter()
            .filter_map(|e| {
                let g = e.grad();
                if !g.defined() {
                    return None;
                }
                let norm = g.norm().double_value(&[]);
                if !(norm > 0.0 && norm.is_finite()) {
                    return None;
                }
                let r = g * (epsilon / norm);
                let mut w = e.shallow_clone();
                let _ = w.g_add_(&r);
                Some((e.shallow_clone(), r))
            })
            .collect()
    })
}

pub(crate) fn fgm_restore(perturbed: Vec<(Tensor, Tensor)>) {
    tch::no_grad(|| {
        for (mut w, r) in perturbed {
            let _ = w.g_sub_(&r);
        }
    });
}

/// The fast gradient method after the clean backward pass: perturb the
/// embeddings along their gradient, add the adversarial loss's gradients,
/// restore the embeddings.
pub fn fgm_adversarial_pass(model: &Seq2Seq, b: &Batch, config: &TrainConfig, device: Device) {
    let perturbed = fgm_attack(model.embeddings(), config.fgm_epsilon);
    if !perturbed.is_empty() {
        let adversarial = batch_loss(
            model,
            b,
            device,
            true,
            config.teacher_forcing,
            config.label_smoothing,
        );
        adversarial.backward();
        fgm_restore(perturbed);
    }
}

/// One optimisation step on a batch; returns the (clean) loss.
pub fn train_step(
    model: &Seq2Seq,
    opt: &mut Adam,
    b: &Batch,
    config: &TrainConfig,
    device: Device,
    lr: f64,
) -> f64 {
    opt.zero_grad();
    let loss = batch_loss(
        model,
        b,
        device,
        true,
        config.teacher_forcing,
        config.label_smoothing,
    );
    loss.backward();
    if config.fgm_epsilon > 0.0 {
        fgm_adversarial_pass(model, b, config, device);
    }
    opt.clip_grad_norm(config.optim.clip_norm);
    opt.update(lr);
    loss.double_value(&[])
}

/// A model with its parameters, ready to train or decode.
#[derive(Debug)]
pub struct Trained {
    pub vs: nn::VarStore,
    pub model: Seq2Seq,
    pub vocabs: Vocabs,
    pub meta: ModelMeta,
}

impl Trained {
    /// Builds a fresh model for `vocabs` (weights from the torch RNG, which
    /// the caller seeds).
    pub fn build(meta: ModelMeta, vocabs: Vocabs, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let shared = meta.train.data.shared_vocab;
        let model = Seq2Seq::new(
            &vs.root(),
            &meta.train.model,
            vocabs.src.len() as i64,
            vocabs.tgt.len() as i64,
            shared,
        );
        Self {
            vs,
            model,
            vocabs,
            meta,
        }
    }

    /// Loads `DIR/model.safetensors` (or another weights file) with the
    /// config and vocabularies beside it.
    pub fn load(dir: &Path, weights: Option<&Path>, device: Device) -> Result<Self> {
        let meta = read_meta(dir)?;
        let subwords = if meta.train.data.units == Units::Bpe {
            Some(Subwords {
                src: Bpe::load(&dir.join(SRC_BPE_FILE))?,
                tgt: Bpe::load(&dir.join(TGT_BPE_FILE))?,
            })
        } else {
            None
        };
        let vocabs = Vocabs {
            src: Vocab::load(&dir.join(SRC_VOCAB_FILE))?,
            tgt: Vocab::load(&dir.join(TGT_VOCAB_FILE))?,
            subwords,
        };
        let mut trained = Self::build(meta, vocabs, device);
        load_weights(&mut trained.vs, dir, weights)?;
        Ok(trained)
    }

    fn save_files(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
        let json = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| ModelError::invalid(dir, e.to_string()))?;
        crate::io::write_atomic(&dir.join(CONFIG_FILE), json.as_bytes())?;
        if let Some(sw) = &self.vocabs.subwords {
            sw.src.save(&dir.join(SRC_BPE_FILE))?;
            sw.tgt.save(&dir.join(TGT_BPE_FILE))?;
        }
        self.vocabs.src.save(&dir.join(SRC_VOCAB_FILE))?;
        Ok(self.vocabs.tgt.save(&dir.join(TGT_VOCAB_FILE))?)
    }

    /// Writes a whole model folder: config, vocabularies, merges, weights.
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.save_files(dir)?;
        self.save_weights(&dir.join(WEIGHTS_FILE))
    }

    /// Saves the weights to `path` atomically.
    pub fn save_weights(&self, path: &Path) -> Result<()> {
        save_weights(&self.vs, path)
    }
}

/// A model folder's `config.json` (an encoder-decoder's or a tagger's).
pub fn read_meta(dir: &Path) -> Result<ModelMeta> {
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ModelError::invalid(
                dir,
                "not a model folder (no config.json; `ore train --output DIR` makes one)",
            )
        } else {
            ModelError::io(&path, e)
        }
    })?;
    serde_json::from_str(&text).map_err(|e| ModelError::invalid(&path, e.to_string()))
}

/// Loads `DIR/model.safetensors` (or another weights file) into `vs`.
pub fn load_weights(vs: &mut nn::VarStore, dir: &Path, weights: Option<&Path>) -> Result<()> {
    let weights = weights.map_or_else(|| dir.join(WEIGHTS_FILE), Path::to_path_buf);
    if !weights.exists() {
        return Err(ModelError::invalid(
            &weights,
            "no weights (the run stopped before its first evaluation?)",
        ));
    }
    vs.load(&weights)
        .map_err(|e| ModelError::invalid(&weights, e.to_string()))
}

/// Saves a store's weights to `path` atomically.
pub fn save_weights(vs: &nn::VarStore, path: &Path) -> Result<()> {
    let tmp = crate::io::temp_path(path).with_extension("safetensors");
    vs.save(&tmp)?;
    Ok(crate::io::commit(&tmp, path)?)
}

/// What the training loop needs of a model and its data: the batches of an
/// epoch, one optimisation step, the validation loss and its weights. The
/// encoder-decoder ([`Seq2SeqLearner`]) and the tagger
/// ([`crate::tagger::TaggerLearner`]) share one loop ([`fit`]): schedule,
/// logging, evaluation, early stopping, time limits and checkpoints.
pub trait Learner {
    type Batch;
    /// The training batches of one epoch, shuffled by `seed`.
    fn epoch(&self, seed: u64) -> Vec<Self::Batch>;
    /// Units a batch trains on (target units, or tagged tokens).
    fn units(batch: &Self::Batch) -> usize;
    /// One optimisation step; returns the loss.
    fn step(&self, opt: &mut Adam, batch: &Self::Batch, lr: f64) -> f64;
    /// Mean validation loss; `None` without validation data.
    fn valid_loss(&self) -> Option<f64>;
    /// A validation score, higher is better (`select_by = "f1"`); `None`
    /// where the model has none.
    fn valid_score(&self) -> Option<f64> {
        None
    }
    fn save_weights(&self, path: &Path) -> Result<()>;
    fn batches_per_epoch(&self) -> u64;
}

/// The encoder-decoder with its encoded data.
#[derive(Debug)]
pub struct Seq2SeqLearner<'a> {
    pub trained: &'a Trained,
    pub train: Vec<Encoded>,
    pub valid: Vec<Encoded>,
    pub config: &'a TrainConfig,
    pub device: Device,
}

impl Learner for Seq2SeqLearner<'_> {
    type Batch = Batch;

    fn epoch(&self, seed: u64) -> Vec<Batch> {
        data::batches(&self.train, &self.config.data, Some(seed))
    }

    fn units(batch: &Batch) -> usize {
        batch.tgt_units
    }

    fn step(&self, opt: &mut Adam, batch: &Batch, lr: f64) -> f64 {
        train_step(
            &self.trained.model,
            opt,
            batch,
            self.config,
            self.device,
            lr,
        )
    }

    fn valid_loss(&self) -> Option<f64> {
        valid_loss(&self.trained.model, &self.valid, self.config, self.device)
    }

    fn save_weights(&self, path: &Path) -> Result<()> {
        self.trained.save_weights(path)
    }

    fn batches_per_epoch(&self) -> u64 {
        self.train.len().div_ceil(self.config.data.batch_size) as u64
    }
}

impl TrainState {
    /// The state of a run that has not taken a step.
    pub fn fresh() -> Self {
        Self {
            lr_scale: 1.0,
            started_unix_s: Some(tensorboard::unix_now()),
            ..Self::default()
        }
    }
}

/// Empties a model folder of an earlier run's files (a folder that is not a
/// model folder is refused) before a fresh run.
pub fn start_fresh(output: &Path) -> Result<()> {
    refuse_foreign_folder(output)?;
    if output.join(CONFIG_FILE).exists() || output.join(CHECKPOINT_DIR).exists() {
        for name in [
            CONFIG_FILE,
            WEIGHTS_FILE,
            CHECKPOINT_DIR,
            "log.csv",
            "log.parquet",
            "curves.png",
        ] {
            let p = output.join(name);
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
        tensorboard::remove_event_files(output, None)?;
    }
    Ok(())
}

/// The optimiser of the checkpoint in `output`, for `--resume`.
pub fn load_optimizer(vs: &nn::VarStore, config: &TrainConfig, output: &Path) -> Result<Adam> {
    let mut opt = Adam::new(vs, &config.optim);
    opt.load(&output.join(CHECKPOINT_DIR).join("optimizer.safetensors"))?;
    Ok(opt)
}

/// Seconds since this process started, from `/proc` (Linux; `None`
/// elsewhere). Clock ticks are taken as 100 a second, as on every Linux
/// architecture ore builds for.
pub fn process_age_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at 3.
    let after = &stat[stat.rfind(')')? + 2..];
    let start_ticks: f64 = after.split(' ').nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    Some((uptime - start_ticks / 100.0).max(0.0))
}

/// The checkpoint's weights file.
pub fn last_weights(output: &Path) -> PathBuf {
    output.join(CHECKPOINT_DIR).join("last.safetensors")
}

fn state_path(output: &Path) -> PathBuf {
    output.join(CHECKPOINT_DIR).join(STATE_FILE)
}

/// Trains on `train` with `valid` for evaluation, writing the model folder
/// `output`.
pub fn train(
    train: &[Example],
    valid: &[Example],
    output: &Path,
    config: &TrainConfig,
    opts: &TrainOptions,
) -> Result<TrainReport> {
    config.validate().map_err(ModelError::config)?;
    if train.is_empty() {
        return Err(ModelError::config("no training examples".into()));
    }
    let device = device(&config.device)?;
    set_threads(config.threads);
    let started = Instant::now();

    let resume_state = if opts.resume {
        load_state(output)?
    } else {
        None
    };
    let (trained, mut opt, state, config) = match resume_state {
        Some(state) => {
            let mut trained = Trained::load(output, Some(&last_weights(output)), device)?;
            let config = trained.meta.resumed_with(config);
            let opt = load_optimizer(&trained.vs, &config, output)?;
            (trained, opt, state, config)
        }
        None => {
            start_fresh(output)?;
            tch::manual_seed(opts.seed as i64);
            let vocabs = Vocabs::build(train, &config.data);
            let meta = ModelMeta::new(
                config,
                opts,
                (vocabs.src.len(), vocabs.tgt.len()),
                (train.len(), valid.len()),
            );
            let trained = Trained::build(meta, vocabs, device);
            let opt = Adam::new(&trained.vs, &config.optim);
            (trained, opt, TrainState::fresh(), config.clone())
        }
    };
    trained.save_files(output)?;

    let learner = Seq2SeqLearner {
        trained: &trained,
        train: data::encode(train, &trained.vocabs, &config.data),
        valid: data::encode(valid, &trained.vocabs, &config.data),
        config: &config,
        device,
    };
    let fitted = fit(&learner, &mut opt, state, &config, opts, output, started)?;
    Ok(TrainReport {
        train_examples: train.len(),
        valid_examples: valid.len(),
        device: format!("{device:?}").to_lowercase(),
        ..fitted
    })
}

/// The training loop over any [`Learner`]: from `state` (fresh or resumed)
/// to the end of the run, writing the best weights, checkpoints and logs to
/// `output`. The report's example counts and device are the caller's.
pub fn fit<L: Learner>(
    learner: &L,
    opt: &mut Adam,
    mut state: TrainState,
    config: &TrainConfig,
    opts: &TrainOptions,
    output: &Path,
    started: Instant,
) -> Result<TrainReport> {
    std::fs::create_dir_all(output.join(CHECKPOINT_DIR)).map_err(|e| ModelError::io(output, e))?;
    let per_epoch = learner.batches_per_epoch();
    let mut startup_s = None;
    let mut step_s = 0.0;
    let total = config
        .max_steps
        .unwrap_or(u64::MAX)
        .min(per_epoch * config.epochs as u64);
    let log_every = if opts.log_every == 0 {
        50
    } else {
        opts.log_every
    };

    let progress = Progress::new(Some(total), "steps");
    progress.inc(state.step.min(total));
    let mut window_loss = 0.0;
    let mut window_steps = 0u64;
    let mut window_units = 0usize;
    let mut window_start = Instant::now();
    let mut all_units = 0usize;
    let elapsed_before = state.elapsed_s;
    let mut stopped = state.stopped.clone();

    'epochs: while stopped.is_none() && state.epoch < config.epochs as u64 && state.step < total {
        let epoch_seed = opts.seed ^ (state.epoch + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let batches = learner.epoch(epoch_seed);
        for b in batches.iter().skip(state.batch_in_epoch as usize) {
            if startup_s.is_none() {
                startup_s = process_age_s();
            }
            tch::manual_seed((opts.seed ^ state.step.wrapping_mul(0x2545_f491_4f6c_dd1d)) as i64);
            let lr = lr_at(config, state.step, total, state.lr_scale);
            let step_started = Instant::now();
            let loss = learner.step(opt, b, lr);
            step_s += step_started.elapsed().as_secs_f64();
            if !loss.is_finite() {
                return Err(ModelError::config(format!(
                    "training diverged at step {} (loss {loss}); lower optim.lr or raise optim.clip_norm",
                    state.step + 1
                )));
            }
            state.step += 1;
            state.batch_in_epoch += 1;
            window_loss += loss;
            window_steps += 1;
            window_units += L::units(b);
            all_units += L::units(b);
            progress.inc(1);
            let at_epoch_end = state.batch_in_epoch == per_epoch;
            let limit = config
                .max_minutes
                .filter(|m| elapsed_before + started.elapsed().as_secs_f64() >= m * 60.0);
            let out_of_time = limit.is_some();
            if let (Some(m), None) = (limit, &stopped) {
                stopped = Some(format!("time limit ({m} min) reached"));
            }
            let eval_now = out_of_time
                || if config.eval_every > 0 {
                    state.step.is_multiple_of(config.eval_every) || state.step == total
                } else {
                    at_epoch_end || state.step == total
                };
            if state.step.is_multiple_of(log_every) || eval_now {
                let secs = window_start.elapsed().as_secs_f64().max(1e-9);
                let row = LogRow {
                    step: state.step,
                    epoch: state.epoch,
                    loss: window_loss / window_steps.max(1) as f64,
                    valid_loss: None,
                    tokens_per_s: window_units as f64 / secs,
                    lr,
                    elapsed_s: elapsed_before + started.elapsed().as_secs_f64(),
                };
                progress.set_message(format!(
                    "epoch {}/{} loss {:.3} {:.0} tok/s",
                    state.epoch + 1,
                    config.epochs,
                    row.loss,
                    row.tokens_per_s
                ));
                state.log.push(row);
                window_loss = 0.0;
                window_steps = 0;
                window_units = 0;
                window_start = Instant::now();
            }
            if at_epoch_end {
                state.epoch += 1;
                state.batch_in_epoch = 0;
            }
            if eval_now {
                let v = learner.valid_loss();
                let score = match config.select_by {
                    SelectBy::Loss => None,
                    SelectBy::F1 => learner.valid_score(),
                };
                if let Some(last) = state.log.last_mut() {
                    last.valid_loss = v;
                }
                let improved = match (config.select_by, score, state.best_valid_score) {
                    (SelectBy::F1, Some(s), Some(best)) => s > best,
                    (SelectBy::F1, Some(_), None) => true,
                    _ => match (v, state.best_valid_loss) {
                        (Some(v), Some(best)) => v < best,
                        (Some(_), None) => true,
                        (None, _) => true,
                    },
                };
                if improved {
                    state.best_valid_loss = v;
                    state.best_valid_score = score;
                    state.best_step = state.step;
                    state.evals_without_improvement = 0;
                    learner.save_weights(&output.join(WEIGHTS_FILE))?;
                } else {
                    state.evals_without_improvement += 1;
                    if config.optim.schedule == Schedule::Plateau
                        && state
                            .evals_without_improvement
                            .is_multiple_of(config.optim.plateau_patience.max(1))
                    {
                        state.lr_scale *= config.optim.plateau_factor;
                    }
                }
                if let Some(v) = v {
                    progress.println(format!(
                        "step {}: valid loss {v:.4}{}{}",
                        state.step,
                        score.map_or_else(String::new, |s| format!(", F1 {:.2}", s * 100.0)),
                        if improved { " (best, saved)" } else { "" }
                    ));
                }
                if stopped.is_none()
                    && config.patience > 0
                    && state.evals_without_improvement >= config.patience
                {
                    stopped = Some(format!(
                        "early stop: no improvement in {} evaluations",
                        config.patience
                    ));
                }
                state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
                state.stopped.clone_from(&stopped);
                save_checkpoint(learner, opt, &state, output)?;
            }
            if stopped.is_some() || state.step >= total {
                break 'epochs;
            }
        }
        if state.batch_in_epoch >= per_epoch {
            state.epoch += 1;
            state.batch_in_epoch = 0;
        }
    }
    progress.finish();
    state.elapsed_s = elapsed_before + started.elapsed().as_secs_f64();
    save_checkpoint(learner, opt, &state, output)?;
    if !output.join(WEIGHTS_FILE).exists() {
        learner.save_weights(&output.join(WEIGHTS_FILE))?;
    }
    let wall = started.elapsed().as_secs_f64();
    let stopped = stopped.unwrap_or_else(|| {
        if state.step >= config.max_steps.unwrap_or(u64::MAX) {
            format!("max steps ({}) reached", state.step)
        } else {
            format!("{} epochs done", state.epoch)
        }
    });
    Ok(TrainReport {
        steps: state.step,
        epochs: state.epoch,
        train_examples: 0,
        valid_examples: 0,
        best_valid_loss: state.best_valid_loss,
        best_valid_score: state.best_valid_score,
        best_step: state.best_step,
        tokens_per_s: all_units as f64 / wall.max(1e-9),
        wall_s: wall,
        step_tokens_per_s: all_units as f64 / step_s.max(1e-9),
        startup_s,
        stopped,
        device: String::new(),
    })
}

/// A non-empty `output` that is not a model folder (a dataset, a typo for
/// another path) is left alone rather than filled with model files.
pub fn refuse_foreign_folder(output: &Path) -> Result<()> {
    let Ok(mut entries) = std::fs::read_dir(output) else {
        return Ok(());
    };
    if entries.next().is_some() && !output.join(CONFIG_FILE).exists() {
        return Err(ModelError::invalid(
            output,
            "exists, is not empty and is not a model folder (no config.json); choose another --output",
        ));
    }
    Ok(())
}

/// The state of the checkpoint in `output` (`--resume`).
pub fn load_state(output: &Path) -> Result<Option<TrainState>> {
    let path = state_path(output);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut state: TrainState = serde_json::from_str(&text)
                .map_err(|e| ModelError::invalid(&path, e.to_string()))?;
            if state.started_unix_s.is_none() {
                state.started_unix_s = Some(tensorboard::unix_now() - state.elapsed_s);
            }
            Ok(Some(state))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ModelError::invalid(
            output,
            "--resume: no checkpoint here (checkpoint/state.json); train without --resume first",
        )),
        Err(e) => Err(ModelError::io(&path, e)),
    }
}

/// Weights and optimiser first, then the state that points at them.
fn save_checkpoint<L: Learner>(
    learner: &L,
    opt: &Adam,
    state: &TrainState,
    output: &Path,
) -> Result<()> {
    let dir = output.join(CHECKPOINT_DIR);
    learner.save_weights(&dir.join("last.safetensors"))?;
    opt.save(&dir.join("optimizer.safetensors"))?;
    let json = serde_json::to_string_pretty(state)
        .map_err(|e| ModelError::invalid(&dir, e.to_string()))?;
    crate::io::write_atomic(&dir.join(STATE_FILE), json.as_bytes())?;
    log::write(output, &state.log)?;
    let started = state
        .started_unix_s
        .unwrap_or_else(|| tensorboard::unix_now() - state.elapsed_s);
    tensorboard::write(output, &state.log, started)?;
    Ok(log::plot(&output.join("curves.png"), &state.log)?)
}

/// Numbers of parameters (for the summary line).
pub fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables()
        .iter()
        .map(Tensor::numel)
        .sum::<usize>() as i64
}
