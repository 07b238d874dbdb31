//! `ore sweep P.toml`: a hyperparameter search over a train section. The
//! `[sweep]` section names the keys and their values; every trial is an
//! `ore-torch train` run into `sweep/trial-NNN/` (a model folder), recorded
//! first in `sweep/trial-NNN.json`. A trial whose record is unchanged and
//! whose manifest is up to date is skipped, one killed mid-training
//! continues from its checkpoint (`--resume`). The trials are ranked by
//! best validation loss; the top k are evaluated as an ensemble
//! (`sweep/ensemble/`) beside the best alone (`sweep/best/`), and the
//! results go to `_sweep.json`, `trials.csv`, `sweep.md` and `trials.png`.

mod plan;
mod plot;
mod results;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use ore_core::runner::{Graph, Hashes, InputRef, Node};
use ore_core::{MANIFEST_FILE, Pipeline};
use serde_json::{Map, Value};

use crate::stages::KINDS;
use plan::{Combo, INPUT_KEY, SEED_KEY, Space, SweepConfig, TrialSpec, label};
use results::{BestRecord, EnsembleRecord, Groups, Score, SweepRecord, TrainOutcome, TrialRecord};

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

/// One planned trial.
struct Trial {
    spec: TrialSpec,
    name: String,
    label: String,
    /// `SECTION.KEY=VALUE` of its config keys.
    sets: Vec<String>,
    /// `--input`, when the space has `input`.
    input: Option<PathBuf>,
    /// Its pipeline's graph and train node (output: the trial folder), for
    /// the up-to-date check `ore run` makes.
    graph: Graph,
    node: Node,
    /// The group_by values.
    group: Map<String, Value>,
}

/// What to do with a trial folder.
#[derive(Debug, Clone, PartialEq)]
enum Todo {
    Done,
    Resume,
    Run(String),
}

/// The sweep as the pipeline file and flags define it.
struct Sweep {
    pipeline: Pipeline,
    config: SweepConfig,
    space: Space,
    dir: PathBuf,
    torch: Option<PathBuf>,
    threads: Option<usize>,
    force: bool,
    eval: Option<Node>,
    base: Graph,
}

pub(crate) fn run(args: &SweepArgs) -> Result<String> {
    let started = Instant::now();
    let sweep = Sweep::build(args)?;
    let trials = sweep.plan()?;
    if args.dry_run {
        return sweep.dry_run(&trials);
    }
    std::fs::create_dir_all(&sweep.dir)
        .with_context(|| format!("cannot create {}", sweep.dir.display()))?;

    let mut hashes = Hashes::default();
    let mut records = Vec::with_capacity(trials.len());
    for (i, trial) in trials.iter().enumerate() {
        let todo = sweep.todo(trial, &mut hashes);
        let status = match &todo {
            Todo::Done => {
                println!("{}: done, skipped ({})", trial.name, trial.label);
                "skipped"
            }
            Todo::Resume => {
                println!(
                    "trial {}/{}: {} (resuming {} from its checkpoint)",
                    i + 1,
                    trials.len(),
                    trial.label,
                    trial.name
                );
                sweep.train(trial, true)?;
                "resumed"
            }
            Todo::Run(why) => {
                println!("trial {}/{}: {} ({why})", i + 1, trials.len(), trial.label);
                sweep.train(trial, false)?;
                "ran"
            }
        };
        let dir = sweep.trial_dir(trial);
        let outcome = TrainOutcome::read(&dir)
            .with_context(|| format!("{}: reading its manifest", trial.name))?;
        if todo != Todo::Done {
            println!("{}: {}", trial.name, outcome.line());
        }
        hashes.forget(&dir);
        records.push(TrialRecord {
            trial: trial.name.clone(),
            index: trial.spec.index,
            rank: None,
            overrides: trial.spec.overrides.clone(),
            seed: trial.spec.seed,
            input: trial.spec.input.clone(),
            status: status.into(),
            outcome,
            eval: None,
            ensemble: false,
        });
    }

    let losses: Vec<Option<f64>> = records.iter().map(|r| r.outcome.best_valid_loss).collect();
    let order = results::ranking(&losses);
    for (rank, &i) in order.iter().enumerate() {
        if records[i]
            .outcome
            .best_valid_loss
            .is_some_and(f64::is_finite)
        {
            records[i].rank = Some(rank + 1);
        }
    }
    let ranking: Vec<String> = order.iter().map(|&i| records[i].trial.clone()).collect();

    let mut hashes = Hashes::default();
    if sweep.config.eval_each {
        for (trial, record) in trials.iter().zip(records.iter_mut()) {
            let out = sweep.dir.join("evals").join(&trial.name);
            let score = sweep.evaluate(
                &format!("eval {}", trial.name),
                &[sweep.trial_dir(trial)],
                &out,
                &mut hashes,
            )?;
            record.eval = Some(score);
        }
    }
    let ranked: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| records[i].rank.is_some())
        .collect();
    let (best, ensemble) = match (&sweep.eval, ranked.first()) {
        (Some(_), Some(&first)) if sweep.config.top_k > 0 => {
            let dir = sweep.trial_dir(&trials[first]);
            let score = sweep.evaluate("best", &[dir], &sweep.dir.join("best"), &mut hashes)?;
            let best = BestRecord {
                trial: trials[first].name.clone(),
                eval: score,
            };
            let top: Vec<&Trial> = ranked
                .iter()
                .take(sweep.config.top_k)
                .map(|&i| &trials[i])
                .collect();
            let ensemble = sweep.ensemble(&top, &mut hashes)?;
            for member in &ensemble.members {
                if let Some(r) = records.iter_mut().find(|r| &r.trial == member) {
                    r.ensemble = true;
                }
            }
            (Some(best), Some(ensemble))
        }
        (None, _) if sweep.config.top_k > 0 => {
            println!(
                "no eval section in {}: no ensemble",
                sweep.pipeline.path().display()
            );
            (None, None)
        }
        _ => (None, None),
    };

    let groups = (!sweep.config.group_by.is_empty()).then(|| {
        let evaluated = records.iter().all(|r| r.eval.is_some());
        let metric = match records.first().and_then(|r| r.eval.as_ref()) {
            Some(e) if evaluated => e.metric.clone(),
            _ => "best_valid_loss".to_string(),
        };
        let values: Vec<Option<f64>> = records
            .iter()
            .map(|r| match &r.eval {
                Some(e) if evaluated => Some(e.value),
                _ => r.outcome.best_valid_loss,
            })
            .collect();
        let keys: Vec<Map<String, Value>> = trials.iter().map(|t| t.group.clone()).collect();
        let names: Vec<String> = records.iter().map(|r| r.trial.clone()).collect();
        Groups {
            by: sweep.config.group_by.clone(),
            metric,
            rows: results::group_stats(&keys, &names, &values),
        }
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
        best,
        ensemble,
        groups,
        wall_time_s: started.elapsed().as_secs_f64(),
    };
    sweep.write(&record)?;

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
        sweep.dir.display()
    );
    for line in results::summary_lines(&record) {
        let _ = writeln!(out, "  {line}");
    }
    if let (Some(best), Some(ensemble)) = (&record.best, &record.ensemble) {
        let _ = writeln!(
            out,
            "  ensemble vs best member: {} {:.4} vs {:.4}",
            ensemble.eval.metric, ensemble.eval.value, best.eval.value
        );
    }
    let _ = writeln!(
        out,
        "  records: {} (and trials.csv, sweep.md, trials.png{})",
        sweep.dir.join(results::SWEEP_FILE).display(),
        if record.groups.is_some() {
            ", groups.png"
        } else {
            ""
        }
    );
    Ok(out)
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

    fn trial_dir(&self, trial: &Trial) -> PathBuf {
        self.dir.join(&trial.name)
    }

    fn spec_path(&self, trial: &Trial) -> PathBuf {
        self.dir.join(format!("{}.json", trial.name))
    }

    /// Every trial of the space, checked as `ore run` would check the
    /// train section with its overrides (an unknown key fails here, before
    /// anything runs).
    fn plan(&self) -> Result<Vec<Trial>> {
        let points = self
            .space
            .points(self.config.method, self.config.trials, self.draw_seed())
            .map_err(|e| anyhow!("{}: {e}", self.pipeline.path().display()))?;
        points
            .into_iter()
            .enumerate()
            .map(|(index, combo)| self.trial(index, combo))
            .collect()
    }

    fn trial(&self, index: usize, combo: Combo) -> Result<Trial> {
        let section = &self.config.stage;
        let name = format!("trial-{index:03}");
        let label = label(&combo);
        let mut pipeline = self.pipeline.clone();
        let mut sets = Vec::new();
        let mut overrides = Map::new();
        let mut seed = pipeline.pipeline.seed;
        let mut input = None;
        for (key, value) in &combo {
            match key.as_str() {
                SEED_KEY => seed = value.as_integer().map_or(seed, |s| s as u64),
                INPUT_KEY => input = value.as_str().map(str::to_string),
                _ => {
                    sets.push(format!("{section}.{key}={value}"));
                    overrides.insert(key.clone(), json_of(value));
                }
            }
        }
        let context = || format!("{name} ({label})");
        for assignment in &sets {
            pipeline.set(assignment).with_context(context)?;
        }
        pipeline
            .set(&format!("pipeline.seed={seed}"))
            .with_context(context)?;
        if let Some(input) = &input {
            let value = toml::Value::String(input.clone());
            pipeline
                .set(&format!("{section}.input={value}"))
                .with_context(context)?;
        }
        let graph = Graph::build(&pipeline, KINDS).with_context(context)?;
        let mut node = graph.require(section)?.clone();
        node.output = self.dir.join(&name);
        let input_paths = node.input_paths("input");
        let group = self
            .config
            .group_by
            .iter()
            .filter_map(|key| {
                combo
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(k, v)| (k.clone(), json_of(v)))
            })
            .collect();
        let spec = TrialSpec {
            index,
            section: section.clone(),
            overrides,
            seed,
            input_path: input_paths.first().map(|p| p.display().to_string()),
            input,
            config_hash: ore_core::manifest::config_hash(&node.config),
        };
        Ok(Trial {
            input: spec
                .input
                .as_ref()
                .and_then(|_| input_paths.first().cloned()),
            spec,
            name,
            label,
            sets,
            graph,
            node,
            group,
        })
    }

    /// Skip, resume or run: done when `trial-NNN.json` is the planned trial
    /// and the folder's manifest is up to date (config, seed, input hash,
    /// ore version); resumed when the record matches and the folder holds
    /// a checkpoint but no manifest.
    fn todo(&self, trial: &Trial, hashes: &mut Hashes) -> Todo {
        if self.force {
            return Todo::Run("--force".into());
        }
        let dir = self.trial_dir(trial);
        let recorded: Option<TrialSpec> = std::fs::read_to_string(self.spec_path(trial))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        match recorded {
            None if dir.exists() => return Todo::Run("no trial record: rerun".into()),
            None => return Todo::Run("new".into()),
            Some(r) if r != trial.spec => {
                return Todo::Run(format!(
                    "changed since it ran ({}): rerun",
                    changes(&r, &trial.spec)
                ));
            }
            Some(_) => {}
        }
        if dir.join(MANIFEST_FILE).is_file() {
            let reasons = trial.graph.check(&trial.node, &BTreeSet::new(), hashes);
            if reasons.is_empty() {
                Todo::Done
            } else {
                Todo::Run(format!("stale: {}", reasons.join("; ")))
            }
        } else if dir.join("checkpoint").join("state.json").is_file() {
            Todo::Resume
        } else {
            Todo::Run("not finished, no checkpoint: rerun".into())
        }
    }

    fn dry_run(&self, trials: &[Trial]) -> Result<String> {
        let mut hashes = Hashes::default();
        let mut counts = [0usize; 3];
        for (i, trial) in trials.iter().enumerate() {
            let todo = self.todo(trial, &mut hashes);
            let what = match &todo {
                Todo::Done => {
                    counts[0] += 1;
                    "done, would be skipped".to_string()
                }
                Todo::Resume => {
                    counts[1] += 1;
                    "would resume from its checkpoint".to_string()
                }
                Todo::Run(why) => {
                    counts[2] += 1;
                    format!("would run ({why})")
                }
            };
            println!(
                "trial {}/{}: {} — {}: {what}",
                i + 1,
                trials.len(),
                trial.label,
                trial.name
            );
        }
        let eval = match &self.eval {
            Some(e) if self.config.top_k > 0 => format!(
                "; then `{}` on the best trial and on an ensemble of the top {}{}",
                e.section,
                self.config.top_k,
                if self.config.eval_each {
                    " (and on every trial)"
                } else {
                    ""
                }
            ),
            _ => String::new(),
        };
        Ok(format!(
            "dry run: {} trials ({}), {} done, {} to resume, {} to run{eval} — {}\n",
            trials.len(),
            self.config.method.name(),
            counts[0],
            counts[1],
            counts[2],
            self.dir.display()
        ))
    }

    fn torch(&self) -> Result<&Path> {
        self.torch
            .as_deref()
            .ok_or_else(|| anyhow!("ore-torch is needed to run a trial"))
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

    /// Trains one trial: its record first (a fresh run starts from an
    /// empty folder), then `ore-torch train` with the child's stderr on
    /// ours.
    fn train(&self, trial: &Trial, resume: bool) -> Result<()> {
        let dir = self.trial_dir(trial);
        if !resume {
            for stale in [dir.clone(), self.dir.join("evals").join(&trial.name)] {
                if stale.exists() {
                    std::fs::remove_dir_all(&stale)
                        .with_context(|| format!("cannot remove {}", stale.display()))?;
                }
            }
            let json = serde_json::to_string_pretty(&trial.spec)? + "\n";
            results::write_atomic(&self.spec_path(trial), json.as_bytes())?;
        }
        let mut args = self.command("train", &trial.spec.section);
        for assignment in &trial.sets {
            args.push("--set".into());
            args.push(assignment.into());
        }
        if let Some(input) = &trial.input {
            args.push("--input".into());
            args.push(input.into());
        }
        args.push("--seed".into());
        args.push(trial.spec.seed.to_string().into());
        args.push("--output".into());
        args.push(dir.clone().into());
        if resume {
            args.push("--resume".into());
        }
        let status = Command::new(self.torch()?)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .with_context(|| {
                format!(
                    "cannot run {}",
                    self.torch().unwrap_or(Path::new("ore-torch")).display()
                )
            })?;
        if !status.success() {
            let log = dir.join("log.csv");
            bail!(
                "{} failed ({status}; its error is above): trial folder {}{}",
                trial.name,
                dir.display(),
                if log.is_file() {
                    format!(", training log {}", log.display())
                } else {
                    String::new()
                }
            );
        }
        Ok(())
    }

    /// Evaluates `models` (one, or an ensemble) with the eval section into
    /// `out`, unless `out` is up to date for them; returns its scores.
    fn evaluate(
        &self,
        what: &str,
        models: &[PathBuf],
        out: &Path,
        hashes: &mut Hashes,
    ) -> Result<Score> {
        self.try_evaluate(what, models, out, hashes)?
            .map_err(|status| {
                anyhow!(
                    "{what}: `ore eval` failed ({status}; its error is above): output {}",
                    out.display()
                )
            })
    }

    /// [`Sweep::evaluate`], a failed eval returned as its exit status.
    fn try_evaluate(
        &self,
        what: &str,
        models: &[PathBuf],
        out: &Path,
        hashes: &mut Hashes,
    ) -> Result<std::result::Result<Score, std::process::ExitStatus>> {
        let eval = self
            .eval
            .as_ref()
            .ok_or_else(|| anyhow!("no eval section"))?;
        let mut node = eval.clone();
        node.output = out.to_path_buf();
        for (spec, refs) in &mut node.inputs {
            if spec.key == "model" {
                *refs = models.iter().cloned().map(InputRef::Path).collect();
            }
        }
        let fresh = self.force || !self.base.check(&node, &BTreeSet::new(), hashes).is_empty();
        if fresh {
            let mut args = self.command("eval", &eval.section);
            for model in models {
                args.push("--model".into());
                args.push(model.into());
            }
            args.push("--output".into());
            args.push(out.into());
            let status = Command::new(self.torch()?)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .status()
                .with_context(|| {
                    format!(
                        "cannot run {}",
                        self.torch().unwrap_or(Path::new("ore-torch")).display()
                    )
                })?;
            if !status.success() {
                return Ok(Err(status));
            }
            hashes.forget(out);
        }
        let score =
            Score::read(out).with_context(|| format!("{what}: reading {}", out.display()))?;
        println!(
            "{what}: {}{}",
            score.line(),
            if fresh { "" } else { " (up to date, skipped)" }
        );
        Ok(Ok(score))
    }

    /// The ensemble of `top` (best first): the longest prefix whose members
    /// share the best's vocabularies, shortened further while eval refuses
    /// it.
    fn ensemble(&self, top: &[&Trial], hashes: &mut Hashes) -> Result<EnsembleRecord> {
        let requested = top.len();
        let dirs: Vec<PathBuf> = top.iter().map(|t| self.trial_dir(t)).collect();
        let mut note = None;
        let mut n = dirs.len();
        if let Some(k) = (1..dirs.len()).find(|&k| !same_vocabularies(&dirs[0], &dirs[k])) {
            let why = format!(
                "{} has other vocabularies than {}: the ensemble is the top {k}",
                top[k].name, top[0].name
            );
            println!("ensemble: {why}");
            note = Some(why);
            n = k;
        }
        let out = self.dir.join("ensemble");
        loop {
            let what = format!("ensemble of the top {n}");
            match self.try_evaluate(&what, &dirs[..n], &out, hashes)? {
                Ok(score) => {
                    return Ok(EnsembleRecord {
                        requested,
                        members: top[..n].iter().map(|t| t.name.clone()).collect(),
                        note,
                        eval: score,
                    });
                }
                Err(status) if n > 1 => {
                    let why = format!(
                        "eval refused the top {n} ({status}): the ensemble is the top {}",
                        n - 1
                    );
                    println!("ensemble: {why}");
                    note = Some(why);
                    n -= 1;
                }
                Err(status) => bail!(
                    "{what}: `ore eval` failed ({status}; its error is above): output {}",
                    out.display()
                ),
            }
        }
    }

    /// `_sweep.json`, `trials.csv`, `sweep.md`, `trials.png` and, with
    /// `group_by`, `groups.png`.
    fn write(&self, record: &SweepRecord) -> Result<()> {
        let json = serde_json::to_string_pretty(record)? + "\n";
        results::write_atomic(&self.dir.join(results::SWEEP_FILE), json.as_bytes())?;
        results::write_atomic(
            &self.dir.join("trials.csv"),
            results::csv(record).as_bytes(),
        )?;
        results::write_atomic(
            &self.dir.join("sweep.md"),
            results::markdown(record).as_bytes(),
        )?;
        plot::trials(&self.dir.join("trials.png"), record)?;
        if let Some(groups) = &record.groups {
            plot::groups(&self.dir.join("groups.png"), &groups.metric, &groups.rows)?;
        }
        Ok(())
    }
}

/// Whether two model folders have the same vocabulary files.
fn same_vocabularies(a: &Path, b: &Path) -> bool {
    [
        "vocab.src.txt",
        "vocab.tgt.txt",
        "bpe.src.txt",
        "bpe.tgt.txt",
    ]
    .iter()
    .all(|file| std::fs::read(a.join(file)).ok() == std::fs::read(b.join(file)).ok())
}

/// Which fields of a trial's record changed.
fn changes(old: &TrialSpec, new: &TrialSpec) -> String {
    let mut out = Vec::new();
    if old.overrides != new.overrides {
        out.push("its keys");
    }
    if old.seed != new.seed {
        out.push("seed");
    }
    if old.input != new.input || old.input_path != new.input_path {
        out.push("input");
    }
    if old.section != new.section {
        out.push("section");
    }
    if old.config_hash != new.config_hash {
        out.push("config");
    }
    if out.is_empty() {
        out.push("record");
    }
    out.join(", ")
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
