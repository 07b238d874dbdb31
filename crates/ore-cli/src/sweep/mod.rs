//! `ore sweep P.toml`: a hyperparameter search over a train section. The
//! `[sweep]` section names the keys and their values; every trial is an
//! `ore-torch train` run into `sweep/trial-NNN/` (a model folder), recorded
//! first in `sweep/trial-NNN.json`. A trial whose record is unchanged and
//! whose manifest is up to date is skipped, one killed mid-training
//! continues from its checkpoint (`--resume`). The trials are ranked by
//! best validation loss; the top k are evaluated as an ensemble
//! (`sweep/ensemble/`) beside the best alone (`sweep/best/`), and the
//! results go to `_sweep.json`, `trials.csv`, `sweep.md` and `trials.png`.

mod evals;
mod plan;
mod plot;
mod results;
mod tables;
mod trial;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use ore_core::Pipeline;
use ore_core::runner::{Graph, Node};
use serde_json::Value;

use crate::stages::KINDS;
use plan::{Space, SweepConfig};
use results::SweepRecord;

/// Arguments of `ore sweep`.
#[derive(Debug, Args)]
pub(crate) struct SweepArgs {
    /// Pipeline file with a `[sweep]` section.
    #[arg(value_name = "P.toml")]
    pipeline: PathBuf,

    /// The train section to search (default: `[sweep] stage`, else `train`).
    #[arg(long, value_name = "SECTION")]
    stage: Option<String>,

    /// Random: the number of draws; grid: at most this many trials.
    #[arg(long, value_name = "N")]
    trials: Option<usize>,

    /// Members of the ensemble (0: no ensemble, no eval of the best).
    #[arg(long, value_name = "K")]
    top_k: Option<usize>,

    /// Rerun every trial and eval, even those already done.
    #[arg(long)]
    force: bool,

    /// Print the planned trials and which would be skipped, resumed or
    /// run; changes nothing.
    #[arg(long)]
    dry_run: bool,

    /// Threads of each trial and eval (default: all cores).
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// Where the sweep writes (default: `[sweep] output`, else
    /// `<output_root>/<pipeline>/sweep`).
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
}

/// The sweep as the pipeline file and flags define it.
struct Sweep {
    pipeline: Pipeline,
    config: SweepConfig,
    space: Space,
    /// The sweep's folder.
    dir: PathBuf,
    /// `ore-torch` (not needed by a dry run).
    torch: Option<PathBuf>,
    threads: Option<usize>,
    force: bool,
    /// The eval section's node (model and output replaced for each eval).
    eval: Option<Node>,
    /// The pipeline's graph, as written.
    base: Graph,
}

pub(crate) fn run(args: &SweepArgs) -> Result<String> {
    let started = Instant::now();
    let sweep = Sweep::build(args)?;
    let trials = sweep.plan()?;
    if args.dry_run {
        return Ok(sweep.dry_run(&trials));
    }
    std::fs::create_dir_all(&sweep.dir)
        .with_context(|| format!("cannot create {}", sweep.dir.display()))?;
    let mut records = sweep.train_all(&trials)?;
    let (ranking, ranked) = results::rank(&mut records);
    let evaluated = sweep.evaluate_all(&trials, &mut records, &ranked)?;
    let groups = (!sweep.config.group_by.is_empty()).then(|| {
        let keys: Vec<_> = trials.iter().map(|t| t.group.clone()).collect();
        results::groups(&sweep.config.group_by, &records, &keys)
    });
    let record = SweepRecord {
        pipeline: sweep.pipeline.pipeline.name.clone(),
        pipeline_file: sweep.pipeline.path().display().to_string(),
        stage: sweep.config.stage.clone(),
        method: sweep.config.method.name().into(),
        seed: sweep.draw_seed(),
        space: sweep
            .space
            .keys
            .iter()
            .map(|(k, values)| {
                (
                    k.clone(),
                    Value::Array(values.iter().map(json_of).collect()),
                )
            })
            .collect(),
        top_k: sweep.config.top_k,
        eval_section: sweep.eval.as_ref().map(|n| n.section.clone()),
        trials: records,
        ranking,
        best: evaluated.best,
        ensemble: evaluated.ensemble,
        groups,
        wall_time_s: started.elapsed().as_secs_f64(),
    };
    sweep.write(&record)?;
    Ok(sweep.summary(&record))
}

impl Sweep {
    fn build(args: &SweepArgs) -> Result<Self> {
        let pipeline = Pipeline::load(&args.pipeline)?;
        let path = pipeline.path().display().to_string();
        let mut config: SweepConfig = pipeline.tool_config("sweep")?.ok_or_else(|| {
            anyhow!("{path}: no `[sweep]` section (a `[sweep.space]` of the keys to search, e.g. `\"optim.lr\" = [0.001, 0.003]`)")
        })?;
        if let Some(stage) = &args.stage {
            config.stage.clone_from(stage);
        }
        if args.trials.is_some() {
            config.trials = args.trials;
        }
        if let Some(k) = args.top_k {
            config.top_k = k;
        }
        if args.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        let space = Space::parse(&config.space).map_err(|e| anyhow!("{path}: {e}"))?;
        for key in &config.group_by {
            if !space.has(key) {
                bail!("{path}: key `sweep.group_by`: `{key}` is not a key of `[sweep.space]`");
            }
        }
        let base = Graph::build(&pipeline, KINDS)?;
        let train = base.require(&config.stage)?;
        if train.kind.kind != "train" {
            bail!(
                "{path}: key `sweep.stage`: section `{}` is a `{}` stage, not `train`",
                config.stage,
                train.kind.kind
            );
        }
        let eval = match &config.eval {
            Some(name) => {
                let node = base.require(name)?;
                if node.kind.kind != "eval" {
                    bail!(
                        "{path}: key `sweep.eval`: section `{name}` is a `{}` stage, not `eval`",
                        node.kind.kind
                    );
                }
                Some(node.clone())
            }
            None => base.nodes().iter().find(|n| n.kind.kind == "eval").cloned(),
        };
        if config.eval_each && eval.is_none() {
            bail!(
                "{path}: key `sweep.eval_each`: the pipeline has no eval section to evaluate the trials with"
            );
        }
        let dir = match &args.output {
            Some(dir) => dir.clone(),
            None => pipeline.stage_output("sweep"),
        };
        let torch = if args.dry_run {
            None
        } else {
            Some(crate::torch::torch_binary("sweep")?)
        };
        Ok(Self {
            pipeline,
            config,
            space,
            dir,
            torch,
            threads: args.threads,
            force: args.force,
            eval,
            base,
        })
    }

    fn draw_seed(&self) -> u64 {
        self.config.seed.unwrap_or(self.pipeline.pipeline.seed)
    }

    /// The start of an `ore-torch` command line on the pipeline file.
    fn command(&self, kind: &str, section: &str) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            kind.into(),
            "--config".into(),
            self.pipeline.path().into(),
            "--section".into(),
            section.into(),
        ];
        if let Some(threads) = self.threads {
            args.push("--threads".into());
            args.push(threads.to_string().into());
        }
        args
    }

    /// Runs `ore-torch ARGS`, its stderr (errors, progress) on ours.
    fn torch(&self, args: &[OsString]) -> Result<ExitStatus> {
        let torch = self
            .torch
            .as_deref()
            .ok_or_else(|| anyhow!("ore-torch is needed to run a trial"))?;
        Command::new(torch)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .with_context(|| format!("cannot run {}", torch.display()))
    }

    /// `_sweep.json`, `trials.csv`, `sweep.md`, `trials.png` and, with
    /// `group_by`, `groups.png`.
    fn write(&self, record: &SweepRecord) -> Result<()> {
        let json = serde_json::to_string_pretty(record)? + "\n";
        results::write_atomic(&self.dir.join(results::SWEEP_FILE), json.as_bytes())?;
        results::write_atomic(&self.dir.join("trials.csv"), tables::csv(record).as_bytes())?;
        results::write_atomic(
            &self.dir.join("sweep.md"),
            tables::markdown(record).as_bytes(),
        )?;
        plot::trials(&self.dir.join("trials.png"), record)?;
        if let Some(groups) = &record.groups {
            plot::groups(&self.dir.join("groups.png"), &groups.metric, &groups.rows)?;
        }
        Ok(())
    }

    /// The closing lines: counts, the best trial, the ensemble against its
    /// best member, where the records are.
    fn summary(&self, record: &SweepRecord) -> String {
        let ran = record
            .trials
            .iter()
            .filter(|t| t.status != "skipped")
            .count();
        let mut out = format!(
            "\nsweep: {} trials ({ran} trained, {} skipped) in {:.1} s — {}\n",
            record.trials.len(),
            record.trials.len() - ran,
            record.wall_time_s,
            self.dir.display()
        );
        for line in tables::summary_lines(record) {
            let _ = writeln!(out, "  {line}");
        }
        if let (Some(best), Some(ensemble)) = (&record.best, &record.ensemble) {
            let _ = writeln!(
                out,
                "  {}: ensemble {} vs best member {}",
                ensemble.eval.metric,
                tables::fmt_score(&ensemble.eval.metric, ensemble.eval.value),
                tables::fmt_score(&best.eval.metric, best.eval.value)
            );
        }
        let _ = writeln!(
            out,
            "  records: {} (and trials.csv, sweep.md, trials.png{})",
            self.dir.join(results::SWEEP_FILE).display(),
            if record.groups.is_some() {
                ", groups.png"
            } else {
                ""
            }
        );
        out
    }
}

/// A space value as JSON.
fn json_of(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        other => Value::String(other.to_string()),
    }
}
