//! `ore run` and `ore status`: a pipeline's stages in dependency order,
//! each skipped while its output's manifest records the same stage, ore
//! version, config, seed and input hashes as now.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use ore_core::runner::{Graph, Hashes, Node};
use ore_core::{Pipeline, StageKind};

use crate::stage_args::{CommonArgs, Invocation, as_built, as_configured, execute, setup_threads};
use crate::stages::KINDS;

/// Kinds whose runtime links libtorch: `ore` runs them in `ore-torch`.
const TORCH_KINDS: &[&str] = &["train", "eval", "translate"];

/// Arguments of `ore run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Pipeline file (`pipelines/NAME.toml`).
    #[arg(value_name = "P.toml")]
    pipeline: PathBuf,

    /// Run this stage and every stage after it that reads its output,
    /// directly or not (each still skipped if up to date).
    #[arg(long, value_name = "STAGE", conflicts_with = "only")]
    from: Option<String>,

    /// Run this stage only (if it is not up to date).
    #[arg(long, value_name = "STAGE")]
    only: Option<String>,

    /// Run the chosen stages even when they are up to date.
    #[arg(long)]
    force: bool,

    /// Say what would run, and why, without running anything.
    #[arg(long)]
    dry_run: bool,

    /// Override a key of the pipeline file, as `SECTION.KEY=VALUE` (VALUE
    /// is read as TOML, else as a string); repeatable. `pipeline.seed=N`
    /// sets the run seed.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,

    /// With --only: the stage's input instead of the pipeline's.
    #[arg(long, value_name = "DIR", requires = "only")]
    input: Vec<PathBuf>,

    /// With --only: the stage's output folder instead of the pipeline's.
    #[arg(long, value_name = "DIR", requires = "only")]
    output: Option<PathBuf>,

    /// With --only on an eval stage: the model(s) instead of the pipeline's.
    #[arg(long = "model", value_name = "DIR", requires = "only")]
    models: Vec<PathBuf>,

    /// Worker threads for every stage (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// With --only: run one shard of the stage (`--shard K/N`, and `--step`
    /// where its sharded run has several); `ore commit` joins the shards.
    /// This is what each task of `ore launch` runs.
    #[command(flatten)]
    shard: crate::stage_args::ShardArgs,

    /// Do not write the data report (`<output_root>/<name>/_report/`) that
    /// a run of the whole pipeline (no --only/--from) ends with when a stage
    /// ran or the report is missing; `ore report P.toml` writes it any time.
    #[arg(long)]
    no_report: bool,
}

/// Arguments of `ore status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Pipeline file (`pipelines/NAME.toml`).
    #[arg(value_name = "P.toml")]
    pipeline: PathBuf,

    /// Override a key of the pipeline file, as with `ore run`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

fn load(path: &Path, set: &[String]) -> Result<Pipeline> {
    let mut pipeline = Pipeline::load(path)?;
    for assignment in set {
        pipeline.set(assignment)?;
    }
    Ok(pipeline)
}

/// A TOML list of paths, for `--input`/`--model` overrides.
fn paths_value(paths: &[PathBuf]) -> toml::Value {
    toml::Value::Array(
        paths
            .iter()
            .map(|p| toml::Value::String(p.to_string_lossy().into_owned()))
            .collect(),
    )
}

pub(crate) fn run(args: &RunArgs) -> Result<String> {
    let started = Instant::now();
    setup_threads(args.threads)?;
    let mut pipeline = load(&args.pipeline, &args.set)?;
    // `--input`/`--output`/`--model` of --only are `--set`s of its section's
    // graph keys, so they reach `ore-torch` the same way.
    let mut set = args.set.clone();
    if args.shard.shard.is_some() && args.only.is_none() {
        bail!("--shard runs one stage: name it with --only STAGE");
    }
    if let Some(only) = &args.only {
        if !pipeline.has_section(only) {
            // Named the same way as every other missing stage.
            Graph::build(&pipeline, KINDS)?.require(only)?;
        }
        let output = args
            .output
            .as_ref()
            .map(|o| toml::Value::String(o.to_string_lossy().into_owned()));
        let keys = [
            (
                "input",
                (!args.input.is_empty()).then(|| paths_value(&args.input)),
            ),
            (
                "model",
                (!args.models.is_empty()).then(|| paths_value(&args.models)),
            ),
            ("output", output),
        ];
        for (key, value) in keys {
            if let Some(value) = value {
                let assignment = format!("{only}.{key}={value}");
                pipeline.set(&assignment)?;
                set.push(assignment);
            }
        }
    }
    let graph = Graph::build(&pipeline, KINDS)?;
    let selected: BTreeSet<String> = match (&args.only, &args.from) {
        (Some(only), _) => BTreeSet::from([graph.require(only)?.section.clone()]),
        (None, Some(from)) => graph.downstream(&graph.require(from)?.section),
        (None, None) => graph.nodes().iter().map(|n| n.section.clone()).collect(),
    };

    let mut rerun = BTreeSet::new();
    let mut hashes = Hashes::default();
    let mut report = String::new();
    let (mut ran, mut skipped) = (0usize, 0usize);
    for node in graph.nodes() {
        if !selected.contains(&node.section) {
            continue;
        }
        let reasons = if args.force {
            vec!["--force".to_string()]
        } else if let Some(shard) = args.shard.shard {
            vec![format!("shard {shard}")]
        } else {
            graph.check(node, &rerun, &mut hashes)
        };
        if reasons.is_empty() {
            skipped += 1;
            println!("{}: up to date ({})", node.section, node.output.display());
            continue;
        }
        if args.dry_run {
            println!("{}: would run ({})", node.section, reasons.join("; "));
            rerun.insert(node.section.clone());
            continue;
        }
        graph.check_runnable(node)?;
        println!(
            "\n==> {} ({}): {}",
            node.section,
            node.kind.kind,
            reasons.join("; ")
        );
        let summary = run_node(
            &pipeline,
            &args.pipeline,
            &set,
            node,
            args.threads,
            &args.shard,
        )
        .with_context(|| {
            format!(
                "stage `{}` failed (the outputs committed before it are kept)",
                node.section
            )
        })?;
        print!("{summary}");
        hashes.forget(&node.output);
        rerun.insert(node.section.clone());
        ran += 1;
    }
    if args.dry_run {
        let _ = writeln!(
            report,
            "dry run: {} of {} stages would run, {skipped} up to date",
            rerun.len(),
            selected.len()
        );
        return Ok(report);
    }
    let report_dir = ore_report::default_dir(&pipeline);
    let whole = args.only.is_none() && args.from.is_none();
    let wrote_report = if whole && !args.no_report && (ran > 0 || !report_dir.is_dir()) {
        let t = Instant::now();
        let built = ore_report::build(&pipeline)
            .and_then(|r| ore_report::write(&r, &report_dir))
            .with_context(|| {
                format!(
                    "the data report (the stages' outputs are committed; `ore report {}` retries it)",
                    args.pipeline.display()
                )
            })?;
        println!(
            "\nreport: {} written in {:.1} s",
            built.display(),
            t.elapsed().as_secs_f64()
        );
        Some(built)
    } else {
        None
    };
    let _ = writeln!(
        report,
        "{}: {ran} stages run, {skipped} up to date, in {:.2} s",
        args.pipeline.display(),
        started.elapsed().as_secs_f64()
    );
    for node in graph
        .nodes()
        .iter()
        .filter(|n| selected.contains(&n.section))
    {
        let _ = writeln!(report, "  {:<12} {}", node.section, node.output.display());
    }
    if let Some(dir) = wrote_report {
        let _ = writeln!(
            report,
            "  {:<12} {}",
            "report",
            dir.join("index.html").display()
        );
    }
    Ok(report)
}

pub(crate) fn status(args: &StatusArgs) -> Result<String> {
    let pipeline = load(&args.pipeline, &args.set)?;
    let graph = Graph::build(&pipeline, KINDS)?;
    let mut stale = BTreeSet::new();
    let mut hashes = Hashes::default();
    let mut out = String::new();
    for node in graph.nodes() {
        let reasons = graph.check(node, &stale, &mut hashes);
        for line in shard_progress(&node.output) {
            let _ = writeln!(out, "{:<12} {line}", node.section);
        }
        if reasons.is_empty() {
            let _ = writeln!(out, "{:<12} up to date", node.section);
        } else {
            let reasons: Vec<String> = reasons
                .into_iter()
                .map(|r| r.replace(" is rerun", " is stale"))
                .collect();
            let _ = writeln!(out, "{:<12} stale: {}", node.section, reasons.join("; "));
            stale.insert(node.section.clone());
        }
    }
    let _ = writeln!(
        out,
        "{} of {} stages stale",
        stale.len(),
        graph.nodes().len()
    );
    Ok(out)
}

/// What the shard area of `output` holds: per step, how many of the N
/// shards are done, and whether the step's commit is still to come.
fn shard_progress(output: &Path) -> Vec<String> {
    let area = ore_core::shard::area(output);
    let Ok(entries) = std::fs::read_dir(&area) else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let mut steps: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    steps.sort();
    for step in steps {
        let name = step
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let Ok(shards) = std::fs::read_dir(&step) else {
            continue;
        };
        let mut by_count: BTreeMap<u32, u32> = BTreeMap::new();
        for shard in shards.flatten() {
            let file = shard.file_name();
            let Some((_, count)) = file
                .to_str()
                .and_then(|n| n.strip_prefix("shard-")?.split_once("-of-"))
            else {
                continue;
            };
            if let Ok(count) = count.parse::<u32>()
                && shard.path().join(ore_core::MANIFEST_FILE).is_file()
            {
                *by_count.entry(count).or_default() += 1;
            }
        }
        for (count, done) in by_count {
            let next = if done == count {
                format!("all done, waiting for `ore commit {}`", output.display())
            } else {
                "running or waiting".to_string()
            };
            lines.push(format!(
                "shards of step `{name}`: {done}/{count} done; {next}"
            ));
        }
    }
    lines
}

/// Runs one stage: in this process, or in `ore-torch` for the stages that
/// link libtorch (with the same pipeline file, section and overrides).
fn run_node(
    pipeline: &Pipeline,
    path: &Path,
    set: &[String],
    node: &Node,
    threads: Option<usize>,
    shard: &crate::stage_args::ShardArgs,
) -> Result<String> {
    let kind: &StageKind = &node.kind;
    let common = CommonArgs {
        config: Some(path.to_path_buf()),
        section: Some(node.section.clone()),
        set: set.to_vec(),
        output: None,
        threads,
    };
    if TORCH_KINDS.contains(&kind.kind) {
        if let Some(shard) = shard.shard.filter(|_| kind.kind != "eval") {
            bail!(
                "stage `{}` does not run in shards (--shard {shard})",
                node.section
            );
        }
        return run_torch_stage(pipeline, node, &common, shard);
    }
    // Back-translation through model folders decodes with libtorch.
    if kind.kind == "augment"
        && !ore_core::translate::has_model_backend()
        && ore_core::contract::load_config::<ore_augment::AugmentStage>(pipeline, &node.section)
            .is_ok_and(|c| c.needs_model_backend())
    {
        return run_torch_stage(pipeline, node, &common, shard);
    }
    let mut inv = Invocation::new(&common);
    inv.shard = shard.clone();
    let p = Some(pipeline);
    match kind.kind {
        "crawl" => execute::<ore_crawl::Crawler>(p, &inv, as_configured, as_built),
        "clean" => execute::<ore_clean::Cleaner>(p, &inv, as_configured, as_built),
        "tokenize" => execute::<ore_tokenize::TokenizeStage>(p, &inv, as_configured, as_built),
        "import-pku" => execute::<ore_tokenize::PkuImport>(p, &inv, as_configured, as_built),
        "import-conll" => execute::<ore_tokenize::ConllImport>(p, &inv, as_configured, as_built),
        "import-table" => execute::<ore_tokenize::TableImport>(p, &inv, as_configured, as_built),
        "augment" => execute::<ore_augment::AugmentStage>(p, &inv, as_configured, as_built),
        "align" => {
            execute::<ore_align::AlignStage>(p, &inv, as_configured, crate::align::with_tokenizer)
        }
        "examples" => execute::<ore_align::ExamplesStage>(
            p,
            &inv,
            as_configured,
            crate::examples::with_tokenizer,
        ),
        "split" => execute::<ore_split::SplitStage>(p, &inv, as_configured, as_built),
        "import-headlines" => {
            execute::<ore_tokenize::HeadlinesImport>(p, &inv, as_configured, as_built)
        }
        other => bail!("stage kind `{other}` has no runner in `ore`"),
    }
}

/// `ore-torch KIND --config P --section S [--set …]`, its output passed on.
fn run_torch_stage(
    pipeline: &Pipeline,
    node: &Node,
    common: &CommonArgs,
    shard: &crate::stage_args::ShardArgs,
) -> Result<String> {
    let torch = crate::torch::torch_binary(node.kind.kind)?;
    let mut args: Vec<OsString> = vec![
        node.kind.kind.into(),
        "--config".into(),
        pipeline.path().into(),
        "--section".into(),
        node.section.clone().into(),
    ];
    for assignment in &common.set {
        args.push("--set".into());
        args.push(assignment.into());
    }
    if let Some(threads) = common.threads {
        args.push("--threads".into());
        args.push(threads.to_string().into());
    }
    if let Some(k) = shard.shard {
        args.push("--shard".into());
        args.push(k.to_string().into());
    }
    if let Some(step) = &shard.step {
        args.push("--step".into());
        args.push(step.into());
    }
    let out = std::process::Command::new(&torch)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", torch.display()))?;
    if !out.status.success() {
        bail!("`ore {}` exited with {}", node.kind.kind, out.status);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
