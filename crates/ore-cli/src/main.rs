//! `ore`: turn raw web text into training data, then train and evaluate
//! text-generation models. Each subcommand is a thin call into a stage crate.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod align;
mod augment;
mod clean;
mod commit;
mod crawl;
mod examples;
mod inspect;
mod launch;
mod metrics;
mod output;
mod report;
mod run;
mod serve;
mod split;
mod stage_args;
mod stages;
mod sweep;
mod tokenize;
mod torch;
mod trace;

use torch::run_torch;

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
    /// Run a pipeline file's stages in dependency order, skipping each
    /// stage whose output is up to date: its manifest records the same
    /// stage, ore version, config, seed (for seeded stages) and input
    /// content hashes as now. A failing stage stops the run; the outputs
    /// committed before it stay.
    Run(run::RunArgs),

    /// Say which stages of a pipeline file are up to date and why the
    /// others are stale (output missing, an input changed, a config key
    /// changed with its old and new value, the seed or ore version
    /// changed). Changes nothing.
    Status(run::StatusArgs),

    /// Search hyperparameters of a train section: the `[sweep]` section's
    /// space as a grid or seeded random draws, each trial an `ore train`
    /// run into `sweep/trial-NNN/` (done trials skipped, killed ones
    /// resumed), ranked by validation loss; the top k are evaluated as an
    /// ensemble beside the best trial, and `_sweep.json`, `trials.csv`,
    /// `sweep.md` and `trials.png` record it all.
    Sweep(sweep::SweepArgs),

    /// Join the shards of a sharded run (`--shard K/N` of a stage, or the
    /// tasks of `ore launch`) into its output: checks that all N shards are
    /// there, complete and run with one config on one input, merges them
    /// (clean deduplicates across shards, tokenize adds up its vocabulary)
    /// and renames the output into place at once.
    Commit(commit::CommitArgs),

    /// Run a pipeline's stale stages on a cluster: every stage that runs in
    /// shards as N tasks per step plus a commit, the others as one task,
    /// chained by their inputs. `ore launch slurm` submits job arrays with
    /// sbatch (failed tasks requeued); `ore launch ray` runs the plan as a
    /// Ray job.
    Launch(launch::LaunchArgs),

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

    /// Align two crawls of one site, in two languages, into translation
    /// pairs: pages paired by URL (the language part replaced), segments by
    /// the element ids both pages carry, else by paragraph order and length
    /// (Gale–Church). `--input SRC --input TGT`, source language first.
    Align(align::AlignArgs),

    /// Build the examples of a generation task from documents: headline
    /// (page body → title), summary (rest → first paragraph) or
    /// translation (two crawls → aligned pairs).
    Examples(examples::ExamplesArgs),

    /// The lineage of one row: prediction → example → parent example and
    /// op → document → URL and fetch time, with each stage's manifest.
    Trace(trace::TraceArgs),

    /// Augment the training examples: synonym swap (HIT Cilin, WordNet,
    /// MyThes), character noise, Chinese homophones, EDA word ops and
    /// NER-aware ops, seeded per example; every variant keeps its lineage
    /// (parent_id, aug_op, aug_params, aug_seed). Eval splits pass through.
    Augment(augment::AugmentArgs),

    /// Split a dataset into train/valid/test by groups (rows sharing a
    /// source_id, dup_cluster, doc_id, canonical URL, normalised text or a
    /// named column; optionally near duplicates), balanced by rows, per
    /// stratum, stable as data grows with --index; audits its own output.
    Split(split::SplitArgs),

    /// Find leaks between a training split and eval splits (ore's or any
    /// Parquet with a text column): exact and near duplicates, long n-gram
    /// overlap (13 words, 25 CJK characters), variants of one source_id.
    Audit(split::AuditArgs),

    /// Write the pipeline's data report (`index.html`, `report.md`,
    /// `report.json`) to `<output_root>/<name>/_report/`: rows per stage and
    /// reject reason, diversity, noise, representativeness and timeliness of
    /// the data, duplicate clusters, augmentation samples, the split audit,
    /// training curves and scores with sample predictions traced to URLs.
    Report(report::ReportArgs),

    /// Run polars SQL over a dataset folder or Parquet file (the table is
    /// `self`), e.g. `ore query datasets/demo/clean "SELECT lang_detected,
    /// count(*) FROM self GROUP BY 1"`.
    Query(split::QueryArgs),

    /// Import a labelled corpus (CoNLL-2003 or People's Daily) into a tokens
    /// dataset with gold annotations, or People's Daily headline pairs into
    /// an `examples` dataset.
    Import(tokenize::ImportArgs),

    /// Train an LSTM or GRU encoder-decoder with attention on an `examples`
    /// dataset, or (`--task tag`) a BiLSTM-CRF tagger on a tokens dataset
    /// (libtorch): checkpoints, early stopping, FGM, `--resume`, a log and
    /// a PNG of the curves in the model folder.
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Train(TorchArgs),

    /// Decode examples with one model or an ensemble (greedy or beam
    /// search) and score them: a predictions dataset with per-example
    /// BLEU/ROUGE, `_metrics.json`, and `_report/` against a lead baseline;
    /// for taggers, entity precision, recall and F1 as seqeval gives them.
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Eval(TorchArgs),

    /// Translate a dataset's `src` (or `text`) column with a model made by
    /// `ore train`: greedy, beam search, or sampling seeded per row.
    #[command(disable_help_flag = true, disable_version_flag = true)]
    Translate(TorchArgs),
}

/// The arguments of `ore train` and `ore eval`, parsed by `ore-torch`.
#[derive(Debug, Args)]
struct TorchArgs {
    /// See `ore train --help` / `ore eval --help`.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    args: Vec<OsString>,
}

fn main() -> ExitCode {
    // `ore help train` shows `ore-torch`'s help, as `ore train --help` does.
    let args: Vec<OsString> = std::env::args_os().collect();
    if let [_, help, sub, ..] = args.as_slice()
        && help == "help"
        && (sub == "train" || sub == "eval" || sub == "translate")
    {
        let sub = sub.to_string_lossy();
        return output::finish(run_torch(&sub, &[OsString::from("--help")]));
    }
    let cli = Cli::parse();
    output::finish(match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Status(args) => run::status(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Commit(args) => commit::run(&args),
        Command::Launch(args) => launch::run(&args),
        Command::Crawl(args) => crawl::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Metrics(args) => metrics::run(&args),
        Command::Clean(args) => clean::run(&args),
        Command::Tokenize(args) => tokenize::run(&args),
        Command::Import(args) => tokenize::import(&args),
        Command::Align(args) => align::run(&args),
        Command::Examples(args) => examples::run(&args),
        Command::Trace(args) => trace::run(&args),
        Command::Augment(args) => augment::run(&args),
        Command::Split(args) => split::run(&args),
        Command::Audit(args) => split::audit(&args),
        Command::Query(args) => split::query(&args),
        Command::Report(args) => report::run(&args),
        Command::Train(args) => run_torch("train", &args.args),
        Command::Eval(args) => run_torch("eval", &args.args),
        Command::Translate(args) => run_torch("translate", &args.args),
    })
}
