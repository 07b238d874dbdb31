//! The trials of a sweep: each point of the space as a train run of the
//! pipeline with its overrides, whether its folder is done, to resume or
//! to run, and running it in `ore-torch`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use ore_core::MANIFEST_FILE;
use ore_core::runner::{Graph, Hashes, Node};
use serde_json::{Map, Value};

use super::plan::{Combo, INPUT_KEY, SEED_KEY, TrialSpec, label};
use super::results::{TrainOutcome, TrialRecord, write_atomic};
use super::{Sweep, json_of};
use crate::stages::KINDS;

/// One planned trial.
pub(super) struct Trial {
    pub(super) spec: TrialSpec,
    /// `trial-NNN`, its folder's name.
    pub(super) name: String,
    /// `key=value …` of its point of the space.
    pub(super) label: String,
    /// `SECTION.KEY=VALUE` of its config keys.
    sets: Vec<String>,
    /// `--input`, when the space has `input`.
    input: Option<PathBuf>,
    /// Its pipeline's graph and train node (output: the trial folder), for
    /// the up-to-date check `ore run` makes.
    graph: Graph,
    node: Node,
    /// Its values of the `group_by` keys.
    pub(super) group: Map<String, Value>,
}

/// What to do with a trial folder.
#[derive(Debug, Clone, PartialEq)]
enum Todo {
    Done,
    Resume,
    Run(String),
}

impl Sweep {
    pub(super) fn trial_dir(&self, trial: &Trial) -> PathBuf {
        self.dir.join(&trial.name)
    }

    /// `trial-NNN.json`, beside the folder (a model folder holds only what
    /// training writes).
    fn spec_path(&self, trial: &Trial) -> PathBuf {
        self.dir.join(format!("{}.json", trial.name))
    }

    /// Every trial of the space, checked as `ore run` would check the
    /// train section with its overrides (an unknown key fails here, before
    /// anything runs).
    pub(super) fn plan(&self) -> Result<Vec<Trial>> {
        let points = self
            .space
            .points(self.config.method, self.config.trials, self.draw_seed())
            .map_err(|e| anyhow::anyhow!("{}: {e}", self.pipeline.path().display()))?;
        points
            .into_iter()
            .enumerate()
            .map(|(index, combo)| self.trial(index, combo))
            .collect()
    }

    /// Trial `index`: the pipeline with `--set SECTION.KEY=VALUE` of each
    /// config key, `pipeline.seed` and `SECTION.input` of the special keys.
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
        // What `ore train` checks once it has its config, checked for every
        // trial before the first runs.
        let config: ore_train::TrainConfig =
            serde_json::from_value(node.config.clone()).with_context(context)?;
        config
            .validate()
            .map_err(|e| anyhow::anyhow!("{}: train config: {e}", context()))?;
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

    /// Prints what each trial would do; returns the count line.
    pub(super) fn dry_run(&self, trials: &[Trial]) -> String {
        let mut hashes = Hashes::default();
        let mut counts = [0usize; 3];
        for (i, trial) in trials.iter().enumerate() {
            let what = match self.todo(trial, &mut hashes) {
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
        format!(
            "dry run: {} trials ({}), {} done, {} to resume, {} to run{eval} — {}\n",
            trials.len(),
            self.config.method.name(),
            counts[0],
            counts[1],
            counts[2],
            self.dir.display()
        )
    }

    /// Runs (or skips, or resumes) every trial in order, a line before and
    /// after each; the first failure stops the sweep.
    pub(super) fn train_all(&self, trials: &[Trial]) -> Result<Vec<TrialRecord>> {
        let mut hashes = Hashes::default();
        let mut records = Vec::with_capacity(trials.len());
        for (i, trial) in trials.iter().enumerate() {
            let todo = self.todo(trial, &mut hashes);
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
                    self.train(trial, true)?;
                    "resumed"
                }
                Todo::Run(why) => {
                    println!("trial {}/{}: {} ({why})", i + 1, trials.len(), trial.label);
                    self.train(trial, false)?;
                    "ran"
                }
            };
            let dir = self.trial_dir(trial);
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
        Ok(records)
    }

    /// Trains one trial: its record first (a fresh run starts from an
    /// empty folder and drops the trial's old eval), then `ore-torch train`.
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
            write_atomic(&self.spec_path(trial), json.as_bytes())?;
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
        let status = self.torch(&args)?;
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
