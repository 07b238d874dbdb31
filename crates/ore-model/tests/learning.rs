//! Real learning tests on the CPU: the model must learn to reverse
//! sequences, checkpoints must reload to the same outputs, resume must
//! continue where it stopped, beam 1 must equal greedy, an ensemble of a
//! model with itself must equal the model, and FGM must change the
//! gradients and still train.

use std::path::Path;

use ore_model::config::{Attention, DataConfig, ModelConfig, OptimConfig, TrainConfig};
use ore_model::data::{self, Example, Rng};
use ore_model::decode::{DecodeOptions, decode};
use ore_model::train::{TrainOptions, Trained, batch_loss, train};
use tch::Device;

/// libtorch's CPU kernels split work over one shared thread pool; two tests
/// training at once change how reductions are split and so the last bits of
/// the results. The tests here compare runs bit for bit, so they take turns.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

const SYMBOLS: [&str; 12] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];

/// Random sequences of 3–8 symbols; the target is the source reversed.
fn reverse_task(n: usize, seed: u64) -> Vec<Example> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let len = 3 + (rng.next_u64() % 6) as usize;
            let src: Vec<String> = (0..len)
                .map(|_| SYMBOLS[(rng.next_u64() % SYMBOLS.len() as u64) as usize].to_string())
                .collect();
            let tgt: Vec<String> = src.iter().rev().cloned().collect();
            Example {
                example_id: format!("{seed}-{i}"),
                source_id: format!("{seed}-{i}"),
                src_text: src.join(" "),
                tgt_text: tgt.join(" "),
                src,
                tgt,
            }
        })
        .collect()
}

fn small(attention: Attention, max_steps: u64) -> TrainConfig {
    TrainConfig {
        data: DataConfig {
            batch_size: 32,
            ..DataConfig::default()
        },
        model: ModelConfig {
            embedding: 32,
            hidden: 64,
            attention,
            dropout: 0.0,
            ..ModelConfig::default()
        },
        optim: OptimConfig {
            lr: 0.01,
            ..OptimConfig::default()
        },
        epochs: 1000,
        max_steps: Some(max_steps),
        eval_every: 100,
        patience: 0,
        threads: Some(2),
        device: "cpu".into(),
        ..TrainConfig::default()
    }
}

fn options(seed: u64) -> TrainOptions {
    TrainOptions {
        seed,
        input_label: "reverse task".into(),
        ..TrainOptions::default()
    }
}

fn accuracy(model: &Trained, examples: &[Example], beam: usize) -> f64 {
    let opts = DecodeOptions {
        beam,
        max_len: 12,
        ..DecodeOptions::default()
    };
    let hyps = decode(&[model], examples, &opts, Device::Cpu).expect("decode");
    let right = hyps
        .iter()
        .zip(examples)
        .filter(|(h, e)| **h == e.tgt)
        .count();
    right as f64 / examples.len() as f64
}

/// One numeric column of a model folder's log.csv (2: loss, 5: lr).
fn log_column(dir: &Path, column: usize) -> Vec<f64> {
    std::fs::read_to_string(dir.join("log.csv"))
        .expect("log.csv")
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(column)
                .and_then(|v| v.parse().ok())
                .expect("numeric log field")
        })
        .collect()
}

fn load(dir: &Path) -> Trained {
    Trained::load(dir, None, Device::Cpu).expect("load model")
}

#[test]
fn learns_to_reverse_sequences_with_luong_and_bahdanau() {
    let _turn = turn();
    let train_set = reverse_task(3000, 1);
    let valid = reverse_task(200, 2);
    let test = reverse_task(200, 3);
    for (attention, steps) in [(Attention::Luong, 600), (Attention::Bahdanau, 600)] {
        let dir = tempfile::tempdir().unwrap();
        let report = train(
            &train_set,
            &valid,
            dir.path(),
            &small(attention, steps),
            &options(7),
        )
        .unwrap();
        assert_eq!(report.steps, steps);
        let model = load(dir.path());
        let acc = accuracy(&model, &test, 1);
        assert!(
            acc >= 0.9,
            "{attention:?}: exact-match accuracy {acc} after {steps} steps"
        );
        let loss = report.best_valid_loss.unwrap();
        assert!(loss < 0.3, "{attention:?}: validation loss {loss}");
    }
}

#[test]
fn checkpoints_reload_to_identical_decoding_and_beam_one_is_greedy() {
    let _turn = turn();
    let train_set = reverse_task(1000, 4);
    let valid = reverse_task(100, 5);
    let dir = tempfile::tempdir().unwrap();
    train(
        &train_set,
        &valid,
        dir.path(),
        &small(Attention::Luong, 200),
        &options(3),
    )
    .unwrap();
    let a = load(dir.path());
    let b = load(dir.path());
    let opts = DecodeOptions {
        max_len: 12,
        ..DecodeOptions::default()
    };
    let greedy = decode(&[&a], &valid, &opts, Device::Cpu).unwrap();
    assert_eq!(decode(&[&b], &valid, &opts, Device::Cpu).unwrap(), greedy);
    let beam1 = DecodeOptions {
        beam: 1,
        ..opts.clone()
    };
    assert_eq!(decode(&[&a], &valid, &beam1, Device::Cpu).unwrap(), greedy);
    // The beam path with k = 1 (not the greedy loop) must agree too.
    let hyps_beam = ore_train_beam_one(&a, &valid);
    assert_eq!(hyps_beam, greedy);
    // An ensemble of a model with itself is the model, greedy and beam.
    assert_eq!(
        decode(&[&a, &b], &valid, &opts, Device::Cpu).unwrap(),
        greedy
    );
    // No <eos> before min_len: every output runs to the maximum length.
    let full = DecodeOptions {
        min_len: 12,
        ..opts.clone()
    };
    for beam in [1, 3] {
        let hyps = decode(
            &[&a],
            &valid,
            &DecodeOptions {
                beam,
                ..full.clone()
            },
            Device::Cpu,
        )
        .unwrap();
        assert!(hyps.iter().all(|h| h.len() == 12), "beam {beam}: {hyps:?}");
    }
    let beam4 = DecodeOptions { beam: 4, ..opts };
    assert_eq!(
        decode(&[&a, &b], &valid, &beam4, Device::Cpu).unwrap(),
        decode(&[&a], &valid, &beam4, Device::Cpu).unwrap()
    );
}

/// Runs the beam-search code path with a beam of one.
fn ore_train_beam_one(model: &Trained, examples: &[Example]) -> Vec<Vec<String>> {
    let opts = DecodeOptions {
        beam: 1,
        max_len: 12,
        ..DecodeOptions::default()
    };
    ore_model::decode::decode_with_beam_search(&[model], examples, &opts, Device::Cpu)
        .expect("beam search")
}

#[test]
fn resume_continues_from_the_saved_step() {
    let _turn = turn();
    let train_set = reverse_task(800, 6);
    let valid = reverse_task(100, 7);
    let full = tempfile::tempdir().unwrap();
    let mut config = small(Attention::Luong, 60);
    config.eval_every = 20;
    config.model.dropout = 0.1;
    train(&train_set, &valid, full.path(), &config, &options(9)).unwrap();

    let split = tempfile::tempdir().unwrap();
    let mut first = config.clone();
    first.max_steps = Some(40);
    train(&train_set, &valid, split.path(), &first, &options(9)).unwrap();
    let resumed = TrainOptions {
        resume: true,
        ..options(9)
    };
    let report = train(&train_set, &valid, split.path(), &config, &resumed).unwrap();
    assert_eq!(report.steps, 60);
    let log = |dir: &Path| std::fs::read_to_string(dir.join("log.csv")).unwrap();
    let rows = |text: &str| -> Vec<Vec<String>> {
        text.lines()
            .skip(1)
            .map(|l| l.split(',').take(4).map(String::from).collect())
            .collect()
    };
    // Same steps, epochs, losses and validation losses as one uninterrupted run.
    assert_eq!(rows(&log(split.path())), rows(&log(full.path())));
    let a = load(full.path());
    let b = load(split.path());
    let opts = DecodeOptions::default();
    assert_eq!(
        decode(&[&a], &valid, &opts, Device::Cpu).unwrap(),
        decode(&[&b], &valid, &opts, Device::Cpu).unwrap()
    );
}

#[test]
fn fgm_changes_the_gradients_and_still_trains() {
    let _turn = turn();
    let train_set = reverse_task(1500, 8);
    let valid = reverse_task(100, 9);
    let config = small(Attention::Luong, 1);
    // Gradients of one batch with and without the adversarial pass.
    let grads = |epsilon: f64| -> Vec<f64> {
        tch::manual_seed(0);
        let dir = tempfile::tempdir().unwrap();
        train(&train_set, &valid, dir.path(), &config, &options(1)).unwrap();
        let model = load(dir.path());
        let mut cfg = config.clone();
        cfg.fgm_epsilon = epsilon;
        let vocabs = &model.vocabs;
        let enc = data::encode(&train_set[..32], vocabs, &cfg.data);
        let batch = data::Batch::of(&enc.iter().collect::<Vec<_>>());
        let mut opt = ore_model::optim::Adam::new(&model.vs, &cfg.optim);
        opt.zero_grad();
        let loss = batch_loss(&model.model, &batch, Device::Cpu, true, 1.0, 0.0);
        loss.backward();
        if epsilon > 0.0 {
            ore_model::train::fgm_adversarial_pass(&model.model, &batch, &cfg, Device::Cpu);
        }
        let g = model.vs.variables()["combine.weight"].grad();
        Vec::<f64>::try_from(&g.to_kind(tch::Kind::Double).view([-1])).unwrap()
    };
    let plain = grads(0.0);
    let adversarial = grads(1.0);
    let diff: f64 = plain
        .iter()
        .zip(&adversarial)
        .map(|(a, b)| (a - b).abs())
        .sum();
    assert!(diff > 1e-6, "FGM left the gradients unchanged");

    let mut with_fgm = small(Attention::Luong, 400);
    with_fgm.fgm_epsilon = 0.5;
    let dir = tempfile::tempdir().unwrap();
    let report = train(&train_set, &valid, dir.path(), &with_fgm, &options(2)).unwrap();
    let first = log_column(dir.path(), 2)[0];
    let best = report.best_valid_loss.unwrap();
    assert!(
        best < first / 3.0,
        "with FGM: first loss {first}, best validation loss {best}"
    );
}

#[test]
fn every_option_trains_and_early_stopping_stops() {
    let _turn = turn();
    let train_set = reverse_task(1500, 10);
    let valid = reverse_task(100, 11);
    // Tied embeddings, scheduled sampling, label smoothing, AdamW with decay,
    // warm-up then linear decay, two layers each side, Bahdanau attention.
    let mut config = small(Attention::Bahdanau, 300);
    config.model.tie_embeddings = true;
    config.model.encoder_layers = 2;
    config.model.decoder_layers = 2;
    config.model.dropout = 0.1;
    config.teacher_forcing = 0.7;
    config.label_smoothing = 0.1;
    config.optim.optimizer = ore_model::config::Optimizer::Adamw;
    config.optim.weight_decay = 0.01;
    config.optim.warmup_steps = 30;
    config.optim.schedule = ore_model::config::Schedule::Linear;
    let dir = tempfile::tempdir().unwrap();
    let report = train(&train_set, &valid, dir.path(), &config, &options(4)).unwrap();
    let lrs = log_column(dir.path(), 5);
    assert!(
        lrs.windows(2).skip(1).all(|w| w[1] <= w[0]),
        "linear decay: {lrs:?}"
    );
    let first = log_column(dir.path(), 2)[0];
    let best = report.best_valid_loss.unwrap();
    assert!(
        best < first / 2.0,
        "first loss {first}, best validation loss {best}"
    );

    // Validation data from another task (copying) stops improving while the
    // model learns to reverse: patience 2 ends the run early.
    let copy: Vec<Example> = reverse_task(100, 12)
        .into_iter()
        .map(|mut e| {
            e.tgt = e.src.clone();
            e
        })
        .collect();
    let mut config = small(Attention::Luong, 2000);
    config.eval_every = 25;
    config.patience = 2;
    let dir = tempfile::tempdir().unwrap();
    let report = train(&train_set, &copy, dir.path(), &config, &options(5)).unwrap();
    assert!(report.steps < 2000, "{report:?}");
    assert!(
        report.stopped.starts_with("early stop"),
        "{}",
        report.stopped
    );
    // The saved model is the best one, not the last.
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("checkpoint/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["best_step"].as_u64().unwrap(), report.best_step);
    assert!(report.best_step < report.steps);
}

#[test]
fn ensemble_members_with_other_vocabularies_are_refused() {
    let _turn = turn();
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let a_data = reverse_task(200, 13);
    let b_data: Vec<Example> = a_data
        .iter()
        .map(|e| Example {
            src: e.src.iter().map(|s| s.to_uppercase()).collect(),
            ..e.clone()
        })
        .collect();
    train(
        &a_data,
        &[],
        a_dir.path(),
        &small(Attention::Luong, 2),
        &options(1),
    )
    .unwrap();
    train(
        &b_data,
        &[],
        b_dir.path(),
        &small(Attention::Luong, 2),
        &options(1),
    )
    .unwrap();
    let (a, b) = (load(a_dir.path()), load(b_dir.path()));
    let err = decode(&[&a, &b], &a_data, &DecodeOptions::default(), Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("must share vocabularies"), "{err}");
}

#[test]
fn gru_learns_to_reverse_resumes_and_joins_an_lstm_ensemble() {
    let _turn = turn();
    let train_set = reverse_task(3000, 21);
    let valid = reverse_task(200, 22);
    let test = reverse_task(200, 23);
    let mut config = small(Attention::Luong, 600);
    config.model.cell = ore_model::config::Cell::Gru;
    // The LSTM's 0.01 leaves this GRU on a plateau near 80% exact match;
    // 0.003 learns the task in the same 600 steps.
    config.optim.lr = 0.003;
    // Half the steps, then resumed to the end.
    let dir = tempfile::tempdir().unwrap();
    let mut first = config.clone();
    first.max_steps = Some(300);
    train(&train_set, &valid, dir.path(), &first, &options(7)).unwrap();
    let resumed = TrainOptions {
        resume: true,
        ..options(7)
    };
    let report = train(&train_set, &valid, dir.path(), &config, &resumed).unwrap();
    assert_eq!(report.steps, 600);
    let gru = load(dir.path());
    // A GRU has three gates a layer and no cell-state bridge.
    let names = gru.vs.variables();
    assert_eq!(names["encoder.weight_hh_l0"].size(), [3 * 64, 64]);
    assert!(!names.contains_key("bridge_c.weight"));
    let acc = accuracy(&gru, &test, 1);
    assert!(
        acc >= 0.9,
        "GRU: exact-match accuracy {acc} after 600 steps"
    );

    // An ensemble may mix cells: each member keeps its own state.
    let lstm_dir = tempfile::tempdir().unwrap();
    train(
        &train_set,
        &valid,
        lstm_dir.path(),
        &small(Attention::Luong, 600),
        &options(8),
    )
    .unwrap();
    let lstm = load(lstm_dir.path());
    let opts = DecodeOptions {
        max_len: 12,
        ..DecodeOptions::default()
    };
    let hyps = decode(&[&gru, &lstm], &test, &opts, Device::Cpu).unwrap();
    let right = hyps.iter().zip(&test).filter(|(h, e)| **h == e.tgt).count();
    let best = acc.max(accuracy(&lstm, &test, 1));
    assert!(
        right as f64 / test.len() as f64 >= best - 0.02,
        "GRU + LSTM ensemble: {right} of {} right, best member {best}",
        test.len()
    );
}
