//! The sequence tagger (`task = "tag"`): word embeddings and character CNN
//! features (Ma & Hovy 2016), a bidirectional LSTM or GRU over packed
//! sentences, one score a tag a token, and a linear-chain CRF over the IOB2
//! tags (Lample et al. 2016), trained by the shared loop ([`fit`]).
//!
//! A tagger's model folder holds the same `config.json` as an
//! encoder-decoder's (its `train.task` is `tag`), `vocab.words.txt`,
//! `vocab.chars.txt`, `tags.txt` and `model.safetensors`; checkpoints, logs
//! and `--resume` are the shared loop's.

use std::path::Path;
use std::time::Instant;

use ore_train::tagging::{
    TagBatch, TagEncoded, TagVocabs, Tagged, argmax_tags, encode_tagged, tag_batches,
    validate_for_tagging, viterbi,
};
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

use crate::config::{ModelConfig, TrainConfig};
use crate::error::{ModelError, Result};
use crate::model::Rnn;
use crate::optim::Adam;
pub use crate::train::read_meta;
use crate::train::{
    self as trainer, CONFIG_FILE, Learner, ModelMeta, TrainOptions, TrainReport, TrainState,
    fgm_attack, fgm_restore, fit,
};

/// Linear-chain CRF parameters: `transitions[i][j]` scores tag `i`
/// followed by `j`; `start` and `end` score the first and last tag.
#[derive(Debug)]
struct Crf {
    transitions: Tensor,
    start: Tensor,
    end: Tensor,
}

/// Character features: embeddings, a 1-d convolution, max over positions.
#[derive(Debug)]
struct CharCnn {
    embedding: Tensor,
    weight: Tensor,
    bias: Tensor,
    width: i64,
}

/// The tagger's layers. Build it inside a `VarStore`.
#[derive(Debug)]
pub struct Tagger {
    config: ModelConfig,
    words: Tensor,
    chars: Option<CharCnn>,
    rnn: Rnn,
    output: nn::Linear,
    crf: Option<Crf>,
    tags: i64,
}

/// The tensors of a batch.
struct Inputs {
    words: Tensor,
    chars: Tensor,
    tags: Tensor,
    /// `true` on tokens, `false` on padding, `[B, T]`.
    mask: Tensor,
    /// On the CPU, longest first (for packing).
    lengths: Tensor,
}

impl Inputs {
    fn of(b: &TagBatch, device: Device) -> Self {
        let (rows, len) = (b.rows() as i64, b.len as i64);
        let lengths = Tensor::from_slice(&b.lengths);
        let positions = Tensor::arange(len, (Kind::Int64, Device::Cpu)).unsqueeze(0);
        let mask = positions.lt_tensor(&lengths.unsqueeze(1)).to_device(device);
        Self {
            words: Tensor::from_slice(&b.words)
                .view([rows, len])
                .to_device(device),
            chars: Tensor::from_slice(&b.chars)
                .view([rows * len, b.char_len as i64])
                .to_device(device),
            tags: Tensor::from_slice(&b.tags)
                .view([rows, len])
                .to_device(device),
            mask,
            lengths,
        }
    }
}

impl Tagger {
    pub fn new(
        root: &nn::Path<'_>,
        config: &ModelConfig,
        words: i64,
        chars: i64,
        tags: i64,
    ) -> Self {
        let normal = nn::Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        };
        let word_embedding =
            (root / "word_embedding").var("weight", &[words, config.embedding], normal);
        let chars = (config.char_embedding > 0).then(|| {
            let (e, f, w) = (
                config.char_embedding,
                config.char_filters,
                config.char_width,
            );
            let path = root / "char_cnn";
            // PyTorch's Conv1d initialisation: U(-1/√fan_in, 1/√fan_in).
            let k = 1.0 / ((e * w) as f64).sqrt();
            let uniform = nn::Init::Uniform { lo: -k, up: k };
            CharCnn {
                embedding: (root / "char_embedding").var("weight", &[chars, e], normal),
                weight: path.var("weight", &[f, e, w], uniform),
                bias: path.var("bias", &[f], uniform),
                width: w,
            }
        });
        let input = config.embedding + chars.as_ref().map_or(0, |_| config.char_filters);
        let dropout = if config.encoder_layers > 1 {
            config.dropout
        } else {
            0.0
        };
        let rnn = Rnn::new(
            root / "encoder",
            config.cell,
            input,
            config.hidden,
            config.encoder_layers,
            true,
            dropout,
        );
        let output = nn::linear(root / "output", 2 * config.hidden, tags, Default::default());
        let crf = config.crf.then(|| {
            let path = root / "crf";
            let small = nn::Init::Uniform { lo: -0.1, up: 0.1 };
            Crf {
                transitions: path.var("transitions", &[tags, tags], small),
                start: path.var("start", &[tags], small),
                end: path.var("end", &[tags], small),
            }
        });
        Self {
            config: config.clone(),
            words: word_embedding,
            chars,
            rnn,
            output,
            crf,
            tags,
        }
    }

    /// Tag scores `[B, T, K]` (zeros of the recurrent layer past each
    /// length, so padding never changes a sentence's scores).
    fn emissions(&self, x: &Inputs, train: bool) -> Tensor {
        let p = self.config.dropout;
        let mut features = Tensor::embedding(&self.words, &x.words, -1, false, false);
        if let Some(c) = &self.chars {
            let size = x.words.size();
            let (rows, len) = (size[0], size[1]);
            let chars = Tensor::embedding(&c.embedding, &x.chars, -1, false, false)
                .transpose(1, 2)
                .conv1d(&c.weight, Some(&c.bias), [1], [c.width / 2], [1], 1)
                .amax([2], false)
                .view([rows, len, -1]);
            features = Tensor::cat(&[features, chars], 2);
        }
        let (out, _) = self
            .rnn
            .packed(&features.dropout(p, train), &x.lengths, train);
        self.output.forward(&out.dropout(p, train))
    }

    /// Mean loss a sentence: the CRF's negative log-likelihood, or without
    /// a CRF the cross-entropy a token.
    fn loss(&self, e: &Tensor, x: &Inputs) -> Tensor {
        let Some(crf) = &self.crf else {
            let target = x.tags.masked_fill(&x.mask.logical_not(), -100);
            return e.view([-1, self.tags]).cross_entropy_loss::<Tensor>(
                &target.view([-1]),
                None,
                tch::Reduction::Mean,
                -100,
                0.0,
            );
        };
        let size = e.size();
        let (rows, len, k) = (size[0], size[1], size[2]);
        let mask = x.mask.to_kind(Kind::Float);
        // The gold path's score.
        let emitted = e.gather(2, &x.tags.unsqueeze(2), false).squeeze_dim(2);
        let mut gold = (emitted * &mask).sum_dim_intlist(1, false, Kind::Float)
            + crf.start.index_select(0, &x.tags.select(1, 0));
        if len > 1 {
            let pairs = x.tags.narrow(1, 0, len - 1) * k + x.tags.narrow(1, 1, len - 1);
            let moved = crf
                .transitions
                .view([-1])
                .index_select(0, &pairs.view([-1]))
                .view([rows, len - 1]);
            gold += (moved * mask.narrow(1, 1, len - 1)).sum_dim_intlist(1, false, Kind::Float);
        }
        let last = (x.lengths.to_device(e.device()) - 1).unsqueeze(1);
        gold += crf
            .end
            .index_select(0, &x.tags.gather(1, &last, false).squeeze_dim(1));
        // The log partition by the forward algorithm; a finished sentence
        // keeps its scores.
        let transitions = crf.transitions.unsqueeze(0);
        let mut alpha = crf.start.unsqueeze(0) + e.select(1, 0);
        for t in 1..len {
            let next = (alpha.unsqueeze(2) + &transitions + e.select(1, t).unsqueeze(1))
                .logsumexp([1], false);
            alpha = next.where_self(&x.mask.select(1, t).unsqueeze(1), &alpha);
        }
        let log_z = (alpha + crf.end.unsqueeze(0)).logsumexp([1], false);
        (log_z - gold).mean(Kind::Float)
    }
}

/// A tagger with its parameters and vocabularies.
#[derive(Debug)]
pub struct TrainedTagger {
    pub vs: nn::VarStore,
    pub model: Tagger,
    pub vocabs: TagVocabs,
    pub meta: ModelMeta,
}

impl TrainedTagger {
    pub fn build(meta: ModelMeta, vocabs: TagVocabs, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let model = Tagger::new(
            &vs.root(),
            &meta.train.model,
            vocabs.words.len() as i64,
            vocabs.chars.len() as i64,
            vocabs.tags.len() as i64,
        );
        Self {
            vs,
            model,
            vocabs,
            meta,
        }
    }

    /// Loads `DIR/model.safetensors` (or another weights file).
    pub fn load(dir: &Path, weights: Option<&Path>, device: Device) -> Result<Self> {
        let meta = read_meta(dir)?;
        let vocabs = TagVocabs::load(dir)?;
        let mut trained = Self::build(meta, vocabs, device);
        trainer::load_weights(&mut trained.vs, dir, weights)?;
        Ok(trained)
    }

    fn save_files(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
        let json = serde_json::to_string_pretty(&self.meta)
            .map_err(|e| ModelError::invalid(dir, e.to_string()))?;
        crate::io::write_atomic(&dir.join(CONFIG_FILE), json.as_bytes())?;
        Ok(self.vocabs.save(dir)?)
    }

    pub fn save_weights(&self, path: &Path) -> Result<()> {
        trainer::save_weights(&self.vs, path)
    }
}

/// The tagger and its encoded sentences, for the shared loop.
#[derive(Debug)]
pub struct TaggerLearner<'a> {
    pub trained: &'a TrainedTagger,
    pub train: Vec<TagEncoded>,
    pub valid: Vec<TagEncoded>,
    /// The validation sentences with their gold tags (for `valid_score`).
    pub valid_sentences: &'a [Tagged],
    pub config: &'a TrainConfig,
    pub device: Device,
}

impl Learner for TaggerLearner<'_> {
    type Batch = TagBatch;

    fn epoch(&self, seed: u64) -> Vec<TagBatch> {
        tag_batches(&self.train, &self.config.data, Some(seed))
    }

    fn units(batch: &TagBatch) -> usize {
        batch.tokens
    }

    fn step(&self, opt: &mut Adam, batch: &TagBatch, lr: f64) -> f64 {
        let model = &self.trained.model;
        opt.zero_grad();
        let x = Inputs::of(batch, self.device);
        let loss = model.loss(&model.emissions(&x, true), &x);
        loss.backward();
        if self.config.fgm_epsilon > 0.0 {
            let perturbed = fgm_attack(vec![&model.words], self.config.fgm_epsilon);
            if !perturbed.is_empty() {
                model.loss(&model.emissions(&x, true), &x).backward();
                fgm_restore(perturbed);
            }
        }
        opt.clip_grad_norm(self.config.optim.clip_norm);
        opt.update(lr);
        loss.double_value(&[])
    }

    fn valid_loss(&self) -> Option<f64> {
        if self.valid.is_empty() {
            return None;
        }
        let model = &self.trained.model;
        tch::no_grad(|| {
            let (mut total, mut rows) = (0.0, 0usize);
            for b in tag_batches(&self.valid, &self.config.data, None) {
                let x = Inputs::of(&b, self.device);
                let loss = model
                    .loss(&model.emissions(&x, false), &x)
                    .double_value(&[]);
                total += loss * b.rows() as f64;
                rows += b.rows();
            }
            Some(total / rows.max(1) as f64)
        })
    }

    fn valid_score(&self) -> Option<f64> {
        if self.valid_sentences.is_empty() {
            return None;
        }
        let batch = self.config.data.batch_size.max(32);
        let predicted = predict(&[self.trained], self.valid_sentences, batch, self.device).ok()?;
        let gold: Vec<&[String]> = self
            .valid_sentences
            .iter()
            .map(|t| t.tags.as_slice())
            .collect();
        ore_eval::ner::score(&gold, &predicted)
            .ok()
            .map(|s| s.overall.f1)
    }

    fn save_weights(&self, path: &Path) -> Result<()> {
        self.trained.save_weights(path)
    }

    fn batches_per_epoch(&self) -> u64 {
        self.train.len().div_ceil(self.config.data.batch_size) as u64
    }
}

/// Trains a tagger on `train` with `valid` for early stopping, writing the
/// model folder `output`.
pub fn train_tagger(
    train: &[Tagged],
    valid: &[Tagged],
    output: &Path,
    config: &TrainConfig,
    opts: &TrainOptions,
) -> Result<TrainReport> {
    config.validate().map_err(ModelError::config)?;
    validate_for_tagging(config).map_err(ModelError::config)?;
    if train.iter().all(|t| t.tokens.is_empty()) {
        return Err(ModelError::config("no training sentences".into()));
    }
    let device = trainer::device(&config.device)?;
    trainer::set_threads(config.threads);
    let started = Instant::now();
    let resumed = if opts.resume {
        trainer::load_state(output)?
    } else {
        None
    };
    let (trained, mut opt, state, config) = match resumed {
        Some(state) => {
            let mut trained =
                TrainedTagger::load(output, Some(&trainer::last_weights(output)), device)?;
            let config = trained.meta.resumed_with(config);
            let opt = trainer::load_optimizer(&trained.vs, &config, output)?;
            (trained, opt, state, config)
        }
        None => {
            trainer::start_fresh(output)?;
            tch::manual_seed(opts.seed as i64);
            let vocabs = TagVocabs::build(train, &config.data);
            let meta = ModelMeta::new(
                config,
                opts,
                (vocabs.words.len(), vocabs.tags.len()),
                (train.len(), valid.len()),
            );
            let trained = TrainedTagger::build(meta, vocabs, device);
            let opt = Adam::new(&trained.vs, &config.optim);
            (trained, opt, TrainState::fresh(), config.clone())
        }
    };
    trained.save_files(output)?;
    let learner = TaggerLearner {
        trained: &trained,
        train: encode_tagged(train, &trained.vocabs),
        valid: encode_tagged(valid, &trained.vocabs),
        valid_sentences: valid,
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

/// Members of a tagger ensemble must predict the same tags.
pub fn check_tagger_members(models: &[&TrainedTagger], names: &[String]) -> Result<()> {
    let Some(first) = models.first() else {
        return Err(ModelError::config("no tagger to predict with".into()));
    };
    for (m, name) in models.iter().zip(names).skip(1) {
        if m.vocabs.tags != first.vocabs.tags {
            return Err(ModelError::config(format!(
                "ensemble members must share their tags: {name} has {}, {} has {}",
                m.vocabs.tags.join(" "),
                names[0],
                first.vocabs.tags.join(" ")
            )));
        }
        if m.meta.train.model.crf != first.meta.train.model.crf {
            return Err(ModelError::config(format!(
                "ensemble members must all use a CRF or none: {name} and {} differ (model.crf)",
                names[0]
            )));
        }
    }
    Ok(())
}

/// The tags of each sentence. An ensemble averages its members' tag scores
/// (log-probabilities without a CRF) and CRF parameters, then decodes once.
pub fn predict(
    models: &[&TrainedTagger],
    sentences: &[Tagged],
    batch_size: usize,
    device: Device,
) -> Result<Vec<Vec<String>>> {
    let Some(first) = models.first() else {
        return Err(ModelError::config("no tagger to predict with".into()));
    };
    let tags = &first.vocabs.tags;
    let k = tags.len();
    let n = models.len() as f64;
    let crf = first.model.crf.is_some();
    let mean = |f: &dyn Fn(&Crf) -> &Tensor| -> Vec<f32> {
        let sum = models
            .iter()
            .filter_map(|m| m.model.crf.as_ref())
            .map(|c| f(c).detach().to_device(Device::Cpu))
            .reduce(|a, b| a + b);
        sum.map_or_else(Vec::new, |s| {
            Vec::<f32>::try_from((s / n).flatten(0, -1)).unwrap_or_default()
        })
    };
    let transitions = mean(&|c| &c.transitions);
    let start = mean(&|c| &c.start);
    let end = mean(&|c| &c.end);
    let mut out = vec![Vec::new(); sentences.len()];
    let data = config_for_batches(batch_size);
    // Each member encodes the sentences with its own vocabularies.
    let encoded: Vec<Vec<TagEncoded>> = models
        .iter()
        .map(|m| encode_tagged(sentences, &m.vocabs))
        .collect();
    let batches: Vec<Vec<TagBatch>> = encoded
        .iter()
        .map(|e| tag_batches(e, &data, None))
        .collect();
    tch::no_grad(|| -> Result<()> {
        for (i, batch) in batches[0].iter().enumerate() {
            let mut sum: Option<Tensor> = None;
            for (m, member_batches) in models.iter().zip(&batches) {
                let x = Inputs::of(&member_batches[i], device);
                let mut e = m.model.emissions(&x, false);
                if !crf {
                    e = e.log_softmax(-1, Kind::Float);
                }
                sum = Some(match sum {
                    Some(s) => s + e,
                    None => e,
                });
            }
            let Some(sum) = sum else { continue };
            let scores = (sum / n).to_device(Device::Cpu).to_kind(Kind::Float);
            let len = batch.len;
            let flat = Vec::<f32>::try_from(scores.flatten(0, -1))
                .map_err(|e| ModelError::config(format!("reading tag scores: {e}")))?;
            for (row, (&index, &length)) in batch.index.iter().zip(&batch.lengths).enumerate() {
                let at = row * len * k;
                let e = &flat[at..at + length as usize * k];
                let path = if crf {
                    viterbi(e, k, &transitions, &start, &end)
                } else {
                    argmax_tags(e, k)
                };
                out[index] = path.into_iter().map(|t| tags[t].clone()).collect();
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// Batch settings for prediction: in order, sorted within windows.
fn config_for_batches(batch_size: usize) -> crate::config::DataConfig {
    crate::config::DataConfig {
        batch_size: batch_size.max(1),
        ..Default::default()
    }
}
