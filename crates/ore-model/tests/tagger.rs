//! The tagger learns a synthetic tagging task on the CPU, with and without
//! a CRF and with either cell, resumes from its checkpoint, and an
//! ensemble of a tagger with itself tags as the tagger does.

use ore_model::config::{Cell, DataConfig, ModelConfig, OptimConfig, Task, TrainConfig};
use ore_model::data::Rng;
use ore_model::tagger::{TrainedTagger, predict, train_tagger};
use ore_model::tagging::Tagged;
use ore_model::train::TrainOptions;
use tch::Device;

static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

const NAMES: [&str; 6] = ["Anna", "Boris", "Chen", "Dana", "Emil", "Fatima"];
const PLACES: [&str; 5] = ["Oslo", "Lima", "Hanoi", "Quito", "Accra"];
const WORDS: [&str; 10] = [
    "the", "met", "in", "went", "to", "saw", "near", "and", "later", "today",
];

/// Sentences of filler words with person names (one or two tokens: a name
/// followed by a capitalised surname) and places; the tags follow from the
/// words and their neighbours, so a tagger can learn them exactly.
fn synthetic(n: usize, seed: u64) -> Vec<Tagged> {
    let mut rng = Rng::new(seed);
    let mut pick = |k: usize| (rng.next_u64() % k as u64) as usize;
    (0..n)
        .map(|i| {
            let mut tokens = Vec::new();
            let mut tags = Vec::new();
            for _ in 0..4 + pick(8) {
                match pick(6) {
                    0 => {
                        tokens.push(NAMES[pick(NAMES.len())].to_string());
                        tags.push("B-PER".to_string());
                        if pick(2) == 0 {
                            tokens.push(format!("{}son", NAMES[pick(NAMES.len())]));
                            tags.push("I-PER".to_string());
                        }
                    }
                    1 => {
                        tokens.push(PLACES[pick(PLACES.len())].to_string());
                        tags.push("B-LOC".to_string());
                    }
                    _ => {
                        tokens.push(WORDS[pick(WORDS.len())].to_string());
                        tags.push("O".to_string());
                    }
                }
            }
            Tagged {
                id: format!("{seed}-{i}"),
                group: format!("{seed}-{i}"),
                tokens,
                tags,
            }
        })
        .collect()
}

fn config(cell: Cell, crf: bool, steps: u64) -> TrainConfig {
    TrainConfig {
        task: Task::Tag,
        data: DataConfig {
            batch_size: 16,
            ..DataConfig::default()
        },
        model: ModelConfig {
            cell,
            crf,
            embedding: 16,
            hidden: 24,
            char_embedding: 8,
            char_filters: 12,
            dropout: 0.0,
            ..ModelConfig::default()
        },
        optim: OptimConfig {
            lr: 0.01,
            ..OptimConfig::default()
        },
        epochs: 1000,
        max_steps: Some(steps),
        eval_every: 50,
        patience: 0,
        threads: Some(2),
        device: "cpu".into(),
        ..TrainConfig::default()
    }
}

fn f1(gold: &[Tagged], predicted: &[Vec<String>]) -> f64 {
    let g: Vec<&[String]> = gold.iter().map(|t| t.tags.as_slice()).collect();
    ore_eval::ner::score(&g, predicted)
        .expect("same shapes")
        .overall
        .f1
}

#[test]
fn learns_a_synthetic_tagging_task_with_and_without_crf() {
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let train = synthetic(600, 1);
    let valid = synthetic(100, 2);
    let test = synthetic(200, 3);
    for (cell, crf) in [(Cell::Lstm, true), (Cell::Gru, true), (Cell::Lstm, false)] {
        let dir = tempfile::tempdir().unwrap();
        let opts = TrainOptions {
            seed: 5,
            ..TrainOptions::default()
        };
        let mut cfg = config(cell, crf, 200);
        if crf {
            // Keep the weights with the best validation F1.
            cfg.select_by = ore_model::config::SelectBy::F1;
        }
        let report = train_tagger(&train, &valid, dir.path(), &cfg, &opts).unwrap();
        assert_eq!(report.steps, 200);
        if crf {
            let best = report.best_valid_score.expect("a validation F1");
            assert!(best >= 0.95, "{cell:?}: best validation F1 {best}");
        }
        let model = TrainedTagger::load(dir.path(), None, Device::Cpu).unwrap();
        let predicted = predict(&[&model], &test, 32, Device::Cpu).unwrap();
        let score = f1(&test, &predicted);
        assert!(score >= 0.95, "{cell:?}, crf {crf}: entity F1 {score}");
        // An ensemble of the tagger with itself tags exactly as it does.
        let twin = TrainedTagger::load(dir.path(), None, Device::Cpu).unwrap();
        assert_eq!(
            predict(&[&model, &twin], &test, 7, Device::Cpu).unwrap(),
            predicted
        );
    }
}

#[test]
fn a_resumed_tagger_run_equals_one_run() {
    let _turn = TURN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let train = synthetic(300, 4);
    let valid = synthetic(50, 5);
    let opts = TrainOptions {
        seed: 3,
        ..TrainOptions::default()
    };
    let mut cfg = config(Cell::Lstm, true, 60);
    cfg.eval_every = 20;
    let whole = tempfile::tempdir().unwrap();
    train_tagger(&train, &valid, whole.path(), &cfg, &opts).unwrap();
    let split = tempfile::tempdir().unwrap();
    let mut first = cfg.clone();
    first.max_steps = Some(40);
    train_tagger(&train, &valid, split.path(), &first, &opts).unwrap();
    let resumed = TrainOptions {
        resume: true,
        ..opts.clone()
    };
    let report = train_tagger(&train, &valid, split.path(), &cfg, &resumed).unwrap();
    assert_eq!(report.steps, 60);
    let log = |d: &std::path::Path| -> Vec<String> {
        std::fs::read_to_string(d.join("log.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').take(4).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(log(split.path()), log(whole.path()));
}
