//! The one path every stage command takes: the shared flags
//! (ruff-style flattened args), the pipeline file and its graph, the stage's
//! config, inputs and output resolved in one place, then `build` and `run`
//! of the Stage contract.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use ore_core::runner::{Graph, same_path};
use ore_core::{Pipeline, Stage, StageContext};

use crate::serve::Server;
use crate::stages::KINDS;

/// `--config/--section/--set/--output/--threads`, shared by every stage.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct CommonArgs {
    /// Pipeline file (`pipelines/NAME.toml`): the stage's section, the run
    /// seed, and default input and output folders under `datasets/NAME/`.
    #[arg(long, value_name = "P.toml")]
    pub(crate) config: Option<PathBuf>,

    /// The section of --config that configures this run (default: the
    /// stage's own name; e.g. `pd_tokens` for a second tokenize stage).
    #[arg(long, value_name = "NAME", requires = "config")]
    pub(crate) section: Option<String>,

    /// Override a key of --config, as `SECTION.KEY=VALUE` (VALUE is read as
    /// TOML, else as a string); repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", requires = "config")]
    pub(crate) set: Vec<String>,

    /// Output folder, replaced atomically when the stage completes
    /// (default: `<output_root>/<pipeline>/<section>`).
    #[arg(long, value_name = "DIR")]
    pub(crate) output: Option<PathBuf>,

    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
}

/// [`CommonArgs`] plus `--input` and `--seed`: the flags of a stage that
/// reads datasets.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct StageArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,

    /// Input dataset: a folder of Parquet files or one file (default: what
    /// the pipeline's section names as its `input`).
    #[arg(long, value_name = "DIR")]
    pub(crate) input: Vec<PathBuf>,

    /// Run seed (default: the pipeline's, else 0).
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,

    #[command(flatten)]
    pub(crate) shard: ShardArgs,
}

/// `--shard K/N` and `--step`: one slice of a sharded run.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct ShardArgs {
    /// Process only the K-th of N slices of the input (0 <= K < N) and write
    /// it into the output's shard area (`.NAME.shards/` beside it); once all
    /// N have run, `ore commit OUTPUT` puts the output in place. A shard run
    /// again replaces only its own part files.
    #[arg(long, value_name = "K/N")]
    pub(crate) shard: Option<ore_core::shard::Shard>,

    /// With --shard, for a stage whose sharded run has several steps
    /// (clean with boilerplate removal: `lines`, then `rows`): the step to
    /// run (default: the next one the shard area needs).
    #[arg(long, value_name = "STEP", requires = "shard")]
    pub(crate) step: Option<String>,
}

impl StageArgs {
    /// The invocation of a stage whose `input` comes from `--input`.
    pub(crate) fn invocation(&self) -> Invocation {
        let mut inv = Invocation::new(&self.common);
        if !self.input.is_empty() {
            inv.inputs.push(("input", self.input.clone()));
        }
        inv.seed = self.seed;
        inv.shard = self.shard.clone();
        inv
    }
}

/// What the command line says of one stage run, beyond its config.
#[derive(Debug, Clone, Default)]
pub(crate) struct Invocation {
    pub(crate) common: CommonArgs,
    /// Input paths given on the command line, by input key.
    pub(crate) inputs: Vec<(&'static str, Vec<PathBuf>)>,
    pub(crate) seed: Option<u64>,
    pub(crate) resume: bool,
    pub(crate) shard: ShardArgs,
}

impl Invocation {
    pub(crate) fn new(common: &CommonArgs) -> Self {
        Self {
            common: common.clone(),
            ..Self::default()
        }
    }
}

/// Sets up the rayon pool once per process.
pub(crate) fn setup_threads(threads: Option<usize>) -> Result<()> {
    if let Some(threads) = threads {
        if threads == 0 {
            bail!("--threads must be at least 1");
        }
        // A second stage in one process (`ore run`) keeps the first pool.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    Ok(())
}

/// Loads `--config` with its `--set` overrides.
pub(crate) fn load_pipeline(common: &CommonArgs) -> Result<Option<Pipeline>> {
    let Some(path) = &common.config else {
        return Ok(None);
    };
    let mut pipeline = Pipeline::load(path)?;
    for assignment in &common.set {
        pipeline.set(assignment)?;
    }
    Ok(Some(pipeline))
}

/// Runs stage `S` as the command line says: `configure` applies the
/// stage's own flags to its config, `prepare` hands the built stage what
/// it needs from the binary (a tokenizer for train and eval).
pub(crate) fn run_stage<S: Stage>(
    inv: &Invocation,
    configure: impl FnOnce(&mut S::Config) -> Result<()>,
    prepare: impl FnOnce(S, &StageContext, Option<&Pipeline>) -> Result<S>,
) -> Result<String>
where
    S::Error: Into<anyhow::Error>,
{
    setup_threads(inv.common.threads)?;
    let pipeline = load_pipeline(&inv.common)?;
    execute::<S>(pipeline.as_ref(), inv, configure, prepare)
}

/// [`run_stage`] on a pipeline already loaded (and overridden): the path
/// `ore run` takes for each stage it runs in its own process.
pub(crate) fn execute<S: Stage>(
    pipeline: Option<&Pipeline>,
    inv: &Invocation,
    configure: impl FnOnce(&mut S::Config) -> Result<()>,
    prepare: impl FnOnce(S, &StageContext, Option<&Pipeline>) -> Result<S>,
) -> Result<String>
where
    S::Error: Into<anyhow::Error>,
{
    let kind = S::KIND;
    let section = inv
        .common
        .section
        .clone()
        .unwrap_or_else(|| kind.to_string());
    let graph = pipeline.map(|p| Graph::build(p, KINDS)).transpose()?;
    let node = graph.as_ref().and_then(|g| g.node(&section));
    if let Some(node) = node
        && node.kind.kind != kind
    {
        bail!(
            "section `{section}` of {} is a `{}` stage, not `{kind}`",
            pipeline.map_or_else(String::new, |p| p.path().display().to_string()),
            node.kind.kind
        );
    }
    if inv.common.section.is_some() && node.is_none() {
        bail!(
            "{}: no section `[{section}]`",
            pipeline.map_or_else(String::new, |p| p.path().display().to_string())
        );
    }
    let mut config: S::Config = match pipeline {
        Some(p) => ore_core::contract::load_config::<S>(p, &section)?,
        None => S::Config::default(),
    };
    configure(&mut config)?;
    let config_json = ore_core::contract::config_value(&config)?;

    let mut ctx = StageContext::new(section.clone(), PathBuf::new(), 0);
    for spec in S::INPUTS {
        let given = inv
            .inputs
            .iter()
            .find(|(key, _)| *key == spec.key)
            .map(|(_, paths)| paths.clone());
        let paths = match (given, node, pipeline) {
            (Some(paths), _, _) => paths,
            (None, Some(node), _) => node.input_paths(spec.key),
            (None, None, Some(p)) => spec
                .defaults
                .iter()
                .map(|d| p.stage_output(d))
                .find(|path| path.exists())
                .into_iter()
                .collect(),
            (None, None, None) => Vec::new(),
        };
        if paths.is_empty() && spec.required {
            if let (Some(p), Some(_)) = (pipeline, node) {
                bail!(
                    "{}: key `{section}.{}` is missing: name the stage (or path) that `{section}` reads, or pass --{}",
                    p.path().display(),
                    spec.key,
                    spec.key
                );
            }
            bail!(
                "ore {kind}: --{} is required (or --config P.toml to take it from a pipeline)",
                spec.key
            );
        }
        if paths.len() > 1 && !spec.many {
            bail!("ore {kind}: one --{} only, not {}", spec.key, paths.len());
        }
        ctx.inputs.insert(spec.key, paths);
    }
    ctx.output = match (&inv.common.output, pipeline) {
        (Some(path), _) => path.clone(),
        (None, Some(p)) => p.stage_output(&section),
        (None, None) => bail!(
            "ore {kind}: --output is required (or --config P.toml to take it from a pipeline)"
        ),
    };
    for input in ctx.inputs.values().flatten() {
        if same_path(input, &ctx.output) {
            bail!(
                "ore {kind}: the input and the output are the same folder ({})",
                input.display()
            );
        }
    }
    ctx.seed = inv.seed.or(pipeline.map(|p| p.pipeline.seed)).unwrap_or(0);
    ctx.threads = inv.common.threads;
    ctx.resume = inv.resume;

    let stage = S::build(config).map_err(Into::into)?;
    if let Some(shard) = inv.shard.shard {
        let Some(steps) = stage.shard_steps() else {
            bail!(
                "ore {kind} does not run in shards (--shard {shard}): its output depends on all of its input at once"
            );
        };
        if let Some(step) = &inv.shard.step
            && !steps.contains(&step.as_str())
        {
            bail!(
                "ore {kind}: no step `{step}` in its sharded run (steps: {})",
                steps.join(", ")
            );
        }
        ctx.shard = Some(shard);
        ctx.step = inv.shard.step.clone();
        let step = match (&ctx.step, steps.as_slice()) {
            (Some(step), _) => Some(step.as_str()),
            (None, [one]) => Some(*one),
            _ => None,
        };
        if let Some(step) = step
            && let Some(dir) = finished_shard(&ctx, &config_json, step)?
        {
            return Ok(format!(
                "{section}: shard {shard} of step `{step}` already ran with this config on this input ({}): kept\n",
                dir.display()
            ));
        }
    }
    let stage = prepare(stage, &ctx, pipeline)?;
    let serve = pipeline.map(|p| p.serve(&section)).transpose()?.flatten();
    let _server = serve
        .map(|s| Server::start(&s).with_context(|| format!("stage `{section}`: serve")))
        .transpose()?;
    let manifest = stage.run(&ctx).map_err(Into::into)?;
    Ok(stage.summary(&manifest, &ctx))
}

/// The folder of the shard `ctx` would run, when it holds a committed run
/// of the same config and seed on the same slice of the same inputs (the
/// completion check of a relaunch or a retry: unlike a bare marker file, it
/// notices a changed config or input).
fn finished_shard(
    ctx: &StageContext,
    config: &serde_json::Value,
    step: &str,
) -> Result<Option<PathBuf>> {
    let Some(shard) = ctx.shard else {
        return Ok(None);
    };
    let dir = ore_core::shard::shard_dir(&ctx.output, step, shard);
    let Ok(manifest) = ore_core::Manifest::read(&dir) else {
        return Ok(None);
    };
    if manifest.config_hash != ore_core::manifest::config_hash(config)
        || manifest.seed != ctx.seed
        || manifest.shard.as_deref() != Some(shard.to_string().as_str())
    {
        return Ok(None);
    }
    let inputs: Vec<&PathBuf> = ctx.inputs.values().flatten().collect();
    if inputs.len() != manifest.inputs.len() {
        return Ok(None);
    }
    for (path, record) in inputs.iter().zip(&manifest.inputs) {
        if !same_path(path, &record.path) {
            return Ok(None);
        }
        let Ok(dataset) = ore_core::Dataset::open(path) else {
            return Ok(None);
        };
        if dataset.shard(shard).content_hash()? != record.content_hash {
            return Ok(None);
        }
    }
    Ok(Some(dir))
}

/// No extra flags.
pub(crate) fn as_configured<C>(_: &mut C) -> Result<()> {
    Ok(())
}

/// Nothing to hand over.
pub(crate) fn as_built<S>(stage: S, _: &StageContext, _: Option<&Pipeline>) -> Result<S> {
    Ok(stage)
}
