//! `ore commit DIR`: joins the shards of a sharded run into the output.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Args;
use ore_core::shard::{ROWS_STEP, ShardCommit, ShardSet, area};

/// Arguments of `ore commit`.
#[derive(Debug, Args)]
pub(crate) struct CommitArgs {
    /// The output folder the shards were run for (their --output, or the
    /// pipeline section's output).
    #[arg(value_name = "DIR")]
    output: PathBuf,

    /// The step whose shards to commit (default: `rows` when its shards
    /// are there, else the one step that is).
    #[arg(long, value_name = "STEP")]
    step: Option<String>,
}

pub(crate) fn run(args: &CommitArgs) -> Result<String> {
    let step = match &args.step {
        Some(step) => step.clone(),
        None => pending_step(&args.output)?,
    };
    commit(&args.output, &step)
}

/// The step `ore commit` commits when none is named.
pub(crate) fn pending_step(output: &Path) -> Result<String> {
    let dir = area(output);
    let mut steps: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|name| ShardSet::exists(output, name))
                .collect()
        })
        .unwrap_or_default();
    steps.sort();
    if steps.iter().any(|s| s == ROWS_STEP) {
        return Ok(ROWS_STEP.to_string());
    }
    match steps.as_slice() {
        [one] => Ok(one.clone()),
        [] => bail!(
            "{}: no shards to commit (nothing in {}): run the stage with --shard K/N first",
            output.display(),
            dir.display()
        ),
        many => bail!(
            "{}: shards of steps {} are waiting: name one with --step",
            output.display(),
            many.join(", ")
        ),
    }
}

/// Checks the shards of `step` and commits them the way their stage
/// merges: clean deduplicates across shards, tokenize adds up its
/// vocabulary, a row-wise stage concatenates.
pub(crate) fn commit(output: &Path, step: &str) -> Result<String> {
    let set = ShardSet::open(output, step)?;
    let stage = set.manifest().stage.clone();
    Ok(match stage.as_str() {
        "clean" => ore_clean::shards::commit_shards(set)?,
        "split" => ore_split::stage::commit_shards(set)?,
        "tokenize" => ore_tokenize::commit_shards(set)?.summary_line(output),
        "eval" => ore_train::eval::commit_shards(set)?.summary_line(output),
        "augment" | "crawl" => {
            let mut commit = ShardCommit::begin(set)?;
            commit.concat(&[])?;
            // Every shard loads the same resources and pools.
            commit.merge_summaries(&["load_s", "pool"]);
            commit.finish()?.summary_line(output)
        }
        _ if step == ROWS_STEP => {
            let mut commit = ShardCommit::begin(set)?;
            commit.concat(&[])?;
            commit.finish()?.summary_line(output)
        }
        other => bail!(
            "{}: stage `{other}` has no step `{step}` to commit",
            output.display()
        ),
    })
}
