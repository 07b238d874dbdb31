//! `ore`: turn raw web text into training data, then train and evaluate
//! text-generation models. Each subcommand is a thin call into a stage crate.

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod clean;
mod crawl;
mod inspect;
mod metrics;
mod stage_args;
mod tokenize;
#[cfg(feature = "train")]
mod train;

/// ore — crawl, clean, tokenize, augment and split web text into Parquet
/// datasets, then train and evaluate text-generation models.
///
/// Every stage reads and writes Parquet datasets (folders of part files with
/// a `_manifest.json` and, for stages that drop rows, `_rejects/`), so any
/// stage can be rerun alone and any output opened with `ore inspect`,
/// polars, pyarrow or DuckDB.
#[derive(Debug, Parser)]
#[command(name = "ore", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Crawl web pages into a `documents` dataset (plus `_rejects/` with the
    /// reason of every URL that gave no document): polite (robots.txt,
    /// per-host limits and delays), fault tolerant (timeouts, retries, size
    /// limits), resumable (`--resume` after SIGINT/SIGTERM or a crash).
    Crawl(Box<crawl::CrawlArgs>),

    /// Show the schema, files, manifest, first rows and column statistics of
    /// any Parquet file or dataset folder (ours or written by pyarrow,
    /// polars, DuckDB, Spark).
    Inspect(inspect::InspectArgs),

    /// BLEU (as sacrebleu 2.6.0) and ROUGE-1/2/L (as rouge-score 0.1.2) of a
    /// hypothesis file against one or more reference files, one sentence a
    /// line.
    Metrics(metrics::MetricsArgs),

    /// Clean documents: Unicode normalisation, site boilerplate lines,
    /// language id, quality filters, exact and MinHash near-duplicate
    /// removal (optionally against a persistent --index). Every dropped row
    /// goes to `_rejects/` with its reason and signals.
    Clean(clean::CleanArgs),

    /// Tokenize and annotate a text column: jieba for Chinese, Unicode word
    /// segmentation for other text, POS tags, entities, character offsets,
    /// and a `_vocab/` beside the output.
    Tokenize(tokenize::TokenizeArgs),

    /// Import a labelled corpus (CoNLL-2003 or People's Daily) into a tokens
    /// dataset with gold annotations, or People's Daily headline pairs into
    /// an `examples` dataset.
    Import(tokenize::ImportArgs),

    /// Train an LSTM encoder-decoder with attention on an `examples`
    /// dataset (libtorch): checkpoints, early stopping, FGM, `--resume`,
    /// a log and a PNG of the curves in the model folder.
    #[cfg(feature = "train")]
    Train(train::TrainArgs),

    /// Decode examples with one model or an ensemble (greedy or beam
    /// search) and score them: a predictions dataset with per-example
    /// BLEU/ROUGE, metrics.json, and a report against a lead baseline.
    #[cfg(feature = "train")]
    Eval(train::EvalArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Crawl(args) => crawl::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Metrics(args) => metrics::run(&args),
        Command::Clean(args) => clean::run(&args),
        Command::Tokenize(args) => tokenize::run(&args),
        Command::Import(args) => tokenize::import(&args),
        #[cfg(feature = "train")]
        Command::Train(args) => train::train(&args),
        #[cfg(feature = "train")]
        Command::Eval(args) => train::eval(&args),
    };
    match result.and_then(|text| write_stdout(&text)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the report; a closed pipe (`ore inspect … | head`) is not an error.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
