//! The sweep's evals, all with the pipeline's eval section: every trial
//! alone (`eval_each`), the best trial alone (`sweep/best/`) and the top k
//! as an ensemble (`sweep/ensemble/`). Each is skipped while its output is
//! up to date for its models, as `ore run` decides.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use anyhow::{Context, Result, anyhow, bail};
use ore_core::runner::{Hashes, InputRef};

use super::Sweep;
use super::results::{BestRecord, EnsembleRecord, Score, TrialRecord};
use super::trial::Trial;

/// What the evals found of the best trial and the ensemble.
pub(super) struct Evaluated {
    pub(super) best: Option<BestRecord>,
    pub(super) ensemble: Option<EnsembleRecord>,
}

impl Sweep {
    /// Runs the evals the sweep asks for; `records[i]` is `trials[i]`'s,
    /// `ranked` their positions best first (those with a validation loss).
    /// Fills in each record's score and ensemble membership.
    pub(super) fn evaluate_all(
        &self,
        trials: &[Trial],
        records: &mut [TrialRecord],
        ranked: &[usize],
    ) -> Result<Evaluated> {
        let mut hashes = Hashes::default();
        if self.config.eval_each {
            for (trial, record) in trials.iter().zip(records.iter_mut()) {
                let out = self.dir.join("evals").join(&trial.name);
                let what = format!("eval {}", trial.name);
                let model = self.trial_dir(trial);
                record.eval = Some(self.evaluate(&what, &[model], &out, &mut hashes)?);
            }
        }
        let none = Evaluated {
            best: None,
            ensemble: None,
        };
        if self.config.top_k == 0 {
            return Ok(none);
        }
        if self.eval.is_none() {
            println!(
                "no eval section in {}: no ensemble",
                self.pipeline.path().display()
            );
            return Ok(none);
        }
        let Some(&first) = ranked.first() else {
            println!("no trial has a validation loss: no ensemble");
            return Ok(none);
        };
        let model = self.trial_dir(&trials[first]);
        let best = BestRecord {
            trial: trials[first].name.clone(),
            eval: self.evaluate("best", &[model], &self.dir.join("best"), &mut hashes)?,
        };
        let top: Vec<&Trial> = ranked
            .iter()
            .take(self.config.top_k)
            .map(|&i| &trials[i])
            .collect();
        let ensemble = self.ensemble(&top, &mut hashes)?;
        for record in records.iter_mut() {
            record.ensemble = ensemble.members.contains(&record.trial);
        }
        Ok(Evaluated {
            best: Some(best),
            ensemble: Some(ensemble),
        })
    }

    /// Evaluates `models` (one, or an ensemble) into `out`, unless `out`
    /// is up to date for them; returns its scores.
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
    ) -> Result<std::result::Result<Score, ExitStatus>> {
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
            let status = self.torch(&args)?;
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
}

/// Whether two model folders have the same vocabulary files (eval refuses
/// an ensemble of models whose vocabularies differ).
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
