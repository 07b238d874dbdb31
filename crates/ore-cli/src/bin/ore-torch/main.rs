//! `ore-torch`: the part of `ore` that links libtorch, `ore train` and
//! `ore eval`. `ore` runs this binary (found beside itself) for those two
//! subcommands, so that every other command starts without loading
//! libtorch, which costs about 0.3 s and 100 MB before `main` runs.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[path = "../../augment.rs"]
mod augment;
#[path = "../../output.rs"]
mod output;
#[path = "../../serve.rs"]
mod serve;
// Shared with `ore`, which also uses the helpers for its other stages.
#[allow(dead_code)]
#[path = "../../stage_args.rs"]
mod stage_args;
#[path = "../../stages.rs"]
mod stages;
// `augment` hands over to ore-torch only when run as `ore`.
#[allow(dead_code)]
#[path = "../../torch.rs"]
mod torch;
mod train;

/// The libtorch half of `ore`; run it as `ore train` or `ore eval`.
#[derive(Debug, Parser)]
#[command(name = "ore", bin_name = "ore", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train an LSTM or GRU encoder-decoder with attention on an `examples`
    /// dataset, or (`--task tag`) a BiLSTM-CRF tagger on a tokens dataset
    /// (libtorch): checkpoints, early stopping, FGM, `--resume`, a log and
    /// a PNG of the curves in the model folder.
    Train(train::TrainArgs),

    /// Decode examples with one model or an ensemble (greedy or beam
    /// search) and score them: a predictions dataset with per-example
    /// BLEU/ROUGE, `_metrics.json`, and `_report/` against a lead baseline;
    /// for taggers, entity precision, recall and F1 as seqeval gives them.
    Eval(train::EvalArgs),

    /// Translate a dataset's text column with a model made by `ore train`
    /// (greedy, beam search, or sampling seeded per row): a
    /// `translations` dataset.
    Translate(train::TranslateArgs),

    /// `ore augment` with a back-translation op that decodes model folders.
    Augment(augment::AugmentArgs),
}

fn main() -> ExitCode {
    ore_core::translate::register_model_backend(train::model_backend);
    output::finish(match Cli::parse().command {
        Command::Train(args) => train::train(&args),
        Command::Eval(args) => train::eval(&args),
        Command::Translate(args) => train::translate(&args),
        Command::Augment(args) => augment::run(&args),
    })
}
