//! The ore side of the `train_*` bench pairs: training target units/s and
//! greedy decoding sentences/s of the seq2seq model on fixed shapes, with
//! random data (the PyTorch side, bench/train_torch.py, builds the same
//! model and data). Prints one JSON object.
//!
//!     train_bench [--threads N] [--steps N] [--vocab N] [--batch N] [--len N]
//!     train_bench --backtranslate N [--threads N]
//!
//! `--backtranslate N`: N sentences of 30 words there and back through two
//! model folders by the `model` backend of the Translator seam (text to
//! tokens, greedy batches of 64, units to text), as the `back_translation`
//! op calls it; sentences/s of the round trip.

use std::time::Instant;

use ore_model::config::{DataConfig, ModelConfig, TrainConfig};
use ore_model::data::{self, Example, Rng};
use ore_model::decode::{DecodeOptions, decode};
use ore_model::optim::Adam;
use ore_model::train::{ModelMeta, Trained, train_step};
use ore_model::vocab::Vocab;
use tch::Device;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The bench's shapes: embedding 128, hidden 256, dropout 0.2.
fn bench_config(len: usize, batch: usize) -> TrainConfig {
    TrainConfig {
        data: DataConfig {
            batch_size: batch,
            max_src_len: len,
            max_tgt_len: len,
            ..DataConfig::default()
        },
        model: ModelConfig {
            embedding: 128,
            hidden: 256,
            dropout: 0.2,
            ..ModelConfig::default()
        },
        ..TrainConfig::default()
    }
}

/// What a bench model's `config.json` holds: its shape, no data.
fn bench_meta(config: &TrainConfig, vocab: usize, seed: u64, examples: usize) -> ModelMeta {
    ModelMeta {
        ore_version: String::new(),
        train: config.clone(),
        seed,
        src_vocab: vocab,
        tgt_vocab: vocab,
        input: String::new(),
        input_hash: String::new(),
        train_examples: examples,
        valid_examples: 0,
        held_out_fraction: None,
    }
}

/// The round trip of `n` random sentences through two random models saved
/// as model folders, by `ModelTranslator`.
fn backtranslate(n: usize, threads: usize) {
    use ore_core::translate::{ModelTranslatorConfig, Translator};
    use ore_model::translator::ModelTranslator;
    let (vocab_size, len) = (8000usize, 30usize);
    tch::set_num_threads(threads as i32);
    let units: Vec<String> = (0..vocab_size - 4).map(|i| format!("w{i}")).collect();
    let vocab = Vocab::build(units.iter().map(String::as_str), 1, vocab_size);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = bench_config(len, 64);
    let mut folders = Vec::new();
    for (seed, name) in [(1i64, "forward"), (2, "backward")] {
        tch::manual_seed(seed);
        let meta = bench_meta(&config, vocab_size, seed as u64, 0);
        let vocabs = data::Vocabs {
            src: vocab.clone(),
            tgt: vocab.clone(),
            subwords: None,
        };
        let path = dir.path().join(name);
        Trained::build(meta, vocabs, Device::Cpu)
            .save(&path)
            .expect("save model");
        folders.push(path);
    }
    let mut rng = Rng::new(5);
    let texts: Vec<String> = (0..n)
        .map(|_| {
            (0..len)
                .map(|_| units[(rng.next_u64() % units.len() as u64) as usize].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let seeds = vec![0u64; n];
    let tokenize: ore_model::translator::SharedTokenizer =
        std::sync::Arc::new(|t: &str| t.split_whitespace().map(String::from).collect::<Vec<_>>());
    let load = |model: &std::path::Path| {
        let config = ModelTranslatorConfig {
            model: model.to_path_buf(),
            max_len: len,
            batch_size: 64,
            ..ModelTranslatorConfig::default()
        };
        ModelTranslator::load(&config, tokenize.clone()).expect("load translator")
    };
    let (forward, backward) = (load(&folders[0]), load(&folders[1]));
    let t = Instant::now();
    let pivot = forward.translate(&texts, &seeds).expect("forward");
    let back = backward.translate(&pivot, &seeds).expect("backward");
    let secs = t.elapsed().as_secs_f64();
    let words: usize = back.iter().map(|b| b.split_whitespace().count()).sum();
    println!(
        "{{\"backtranslate_sentences_per_s\": {:.1}, \"sentences\": {n}, \"round_trip_s\": {secs:.3}, \"words_back\": {words}}}",
        n as f64 / secs
    );
}

fn main() {
    let started = Instant::now();
    let threads = arg("--threads", 2);
    let bt = arg("--backtranslate", 0);
    if bt > 0 {
        backtranslate(bt, threads);
        return;
    }
    let steps = arg("--steps", 30);
    let vocab_size = arg("--vocab", 8000);
    let batch = arg("--batch", 32);
    let len = arg("--len", 30);
    tch::set_num_threads(threads as i32);
    tch::manual_seed(0);

    let units: Vec<String> = (0..vocab_size - 4).map(|i| format!("w{i}")).collect();
    let vocab = Vocab::build(units.iter().map(String::as_str), 1, vocab_size);
    let mut rng = Rng::new(1);
    let sentence = |rng: &mut Rng| -> Vec<String> {
        (0..len)
            .map(|_| units[(rng.next_u64() % units.len() as u64) as usize].clone())
            .collect()
    };
    let examples: Vec<Example> = (0..batch * 8)
        .map(|i| {
            let src = sentence(&mut rng);
            let tgt = sentence(&mut rng);
            Example {
                example_id: i.to_string(),
                source_id: i.to_string(),
                src_text: String::new(),
                tgt_text: String::new(),
                src,
                tgt: tgt[..len - 1].to_vec(),
            }
        })
        .collect();
    let config = bench_config(len, batch);
    let vocabs = data::Vocabs {
        src: vocab.clone(),
        tgt: vocab,
        subwords: None,
    };
    let meta = bench_meta(&config, vocab_size, 0, examples.len());
    let trained = Trained::build(meta, vocabs.clone(), Device::Cpu);
    let mut opt = Adam::new(&trained.vs, &config.optim);
    let encoded = data::encode(&examples, &vocabs, &config.data);
    let batches = data::batches(&encoded, &config.data, Some(3));
    let startup_s = started.elapsed().as_secs_f64();

    for b in batches.iter().take(2) {
        train_step(&trained.model, &mut opt, b, &config, Device::Cpu, 1e-3);
    }
    let t = Instant::now();
    let mut units_done = 0usize;
    for i in 0..steps {
        let b = &batches[i % batches.len()];
        train_step(&trained.model, &mut opt, b, &config, Device::Cpu, 1e-3);
        units_done += b.tgt_units;
    }
    let train_s = t.elapsed().as_secs_f64();

    // Every sentence is decoded to full length (no early <eos>), so both
    // sides do the same number of steps whatever their random weights say.
    let opts = DecodeOptions {
        max_len: len,
        min_len: len,
        batch_size: batch,
        ..DecodeOptions::default()
    };
    let t = Instant::now();
    let decoded = decode(&[&trained], &examples, &opts, Device::Cpu).expect("decode");
    let decode_s = t.elapsed().as_secs_f64();
    println!(
        "{{\"train_tokens_per_s\": {:.1}, \"decode_sentences_per_s\": {:.1}, \"startup_s\": {:.3}, \"steps\": {steps}, \"train_s\": {:.3}, \"decoded\": {}}}",
        units_done as f64 / train_s,
        decoded.len() as f64 / decode_s,
        startup_s,
        train_s,
        decoded.len()
    );
}
