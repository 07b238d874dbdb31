//! The `[sweep]` section and the trials it plans: every combination of
//! the space in a fixed order (grid), or distinct seeded draws (random).

use std::collections::BTreeSet;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

/// Keys of `[sweep.space]` that are flags of the trial, not `--set`s of
/// its config: `input` (`--input`, a section or a path) and `seed`
/// (`--seed`).
pub(crate) const INPUT_KEY: &str = "input";
pub(crate) const SEED_KEY: &str = "seed";

/// The `[sweep]` section of a pipeline file: a search over the keys of
/// one train section, each trial a model folder under `sweep/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub(crate) struct SweepConfig {
    /// The train section whose keys are searched (`--stage` overrides).
    pub stage: String,
    /// `grid` (every combination, the last key varying fastest) or
    /// `random` (seeded draws, no combination twice).
    pub method: Method,
    /// Random: the number of draws; grid: at most this many trials
    /// (`--trials` overrides).
    pub trials: Option<usize>,
    /// Seed of the random draws (default: the pipeline seed).
    pub seed: Option<u64>,
    /// Members of the ensemble: the best trials by validation loss (0: no
    /// ensemble; `--top-k` overrides).
    pub top_k: usize,
    /// The eval section whose settings and input score the ensemble, the
    /// best trial and, with `eval_each`, every trial (default: the
    /// pipeline's eval section, if any).
    pub eval: Option<String>,
    /// Also evaluate every trial alone (into `sweep/evals/trial-NNN/`).
    pub eval_each: bool,
    /// Space keys whose values group the trials: the report gives the
    /// mean, std, min and max of the score over each group.
    pub group_by: Vec<String>,
    /// Where the sweep writes (default `<output_root>/<pipeline>/sweep`).
    pub output: Option<String>,
    /// Each key a list of values: a config key of the train section
    /// (`"model.hidden" = [16, 32]`, passed as `--set`), `input` (sections
    /// or paths) or `seed`.
    pub space: toml::Table,
}

impl Default for SweepConfig {
    fn default() -> Self {
        Self {
            stage: "train".into(),
            method: Method::Grid,
            trials: None,
            seed: None,
            top_k: 3,
            eval: None,
            eval_each: false,
            group_by: Vec::new(),
            output: None,
            space: toml::Table::new(),
        }
    }
}

/// How trials are drawn from the space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Method {
    #[default]
    Grid,
    Random,
}

impl Method {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::Grid => "grid",
            Method::Random => "random",
        }
    }
}

/// The space as checked lists: dotted keys in file order, each with its
/// values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Space {
    pub keys: Vec<(String, Vec<toml::Value>)>,
}

/// One point of the space: a value for every key, in the space's order.
pub(crate) type Combo = Vec<(String, toml::Value)>;

impl Space {
    /// Checks `[sweep.space]`: nested tables become dotted keys
    /// (`model.hidden = [..]` and `"model.hidden" = [..]` are one key), each
    /// a non-empty list of scalars; `input` takes strings, `seed`
    /// non-negative integers.
    pub(crate) fn parse(table: &toml::Table) -> Result<Self> {
        let mut keys = Vec::new();
        flatten("", table, &mut keys)?;
        if keys.is_empty() {
            bail!("key `sweep.space`: no key to search (e.g. `\"optim.lr\" = [0.001, 0.003]`)");
        }
        for (key, values) in &keys {
            if values.is_empty() {
                bail!("key `sweep.space.{key}`: an empty list");
            }
            for v in values {
                let ok = match key.as_str() {
                    INPUT_KEY => v.is_str(),
                    SEED_KEY => v.as_integer().is_some_and(|s| s >= 0),
                    _ => matches!(
                        v,
                        toml::Value::String(_)
                            | toml::Value::Integer(_)
                            | toml::Value::Float(_)
                            | toml::Value::Boolean(_)
                    ),
                };
                if !ok {
                    let want = match key.as_str() {
                        INPUT_KEY => "a section name or a path",
                        SEED_KEY => "a non-negative integer",
                        _ => "a string, number or boolean",
                    };
                    bail!("key `sweep.space.{key}`: {} is not {want}", short(v));
                }
            }
            let distinct: BTreeSet<String> = values.iter().map(ToString::to_string).collect();
            if distinct.len() != values.len() {
                bail!("key `sweep.space.{key}`: a value is listed twice");
            }
        }
        Ok(Self { keys })
    }

    /// How many combinations there are (saturating).
    pub(crate) fn size(&self) -> usize {
        self.keys
            .iter()
            .fold(1usize, |n, (_, v)| n.saturating_mul(v.len()))
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.keys.iter().any(|(k, _)| k == key)
    }

    /// The combination of per-key value indices `at`.
    fn combo(&self, at: &[usize]) -> Combo {
        self.keys
            .iter()
            .zip(at)
            .map(|((k, values), &i)| (k.clone(), values[i].clone()))
            .collect()
    }

    /// Combination number `n` of the grid, the last key varying fastest.
    fn grid_point(&self, mut n: usize) -> Combo {
        let mut at = vec![0; self.keys.len()];
        for (slot, (_, values)) in at.iter_mut().zip(&self.keys).rev() {
            *slot = n % values.len();
            n /= values.len();
        }
        self.combo(&at)
    }

    /// The trials' points: the grid in order (at most `cap`), or `draws`
    /// distinct seeded draws. A draw depends only on the seed, its number
    /// and the space, so asking for more draws keeps the earlier ones.
    pub(crate) fn points(
        &self,
        method: Method,
        cap: Option<usize>,
        seed: u64,
    ) -> Result<Vec<Combo>> {
        let size = self.size();
        match method {
            Method::Grid => {
                let n = cap.map_or(size, |c| c.min(size));
                Ok((0..n).map(|i| self.grid_point(i)).collect())
            }
            Method::Random => {
                let Some(draws) = cap else {
                    bail!(
                        "key `sweep.trials`: method = \"random\" needs the number of draws (or --trials N)"
                    );
                };
                let draws = draws.min(size);
                let mut seen = BTreeSet::new();
                let mut out = Vec::with_capacity(draws);
                let mut attempt = 0u64;
                while out.len() < draws {
                    let at: Vec<usize> = self
                        .keys
                        .iter()
                        .map(|(key, values)| {
                            let id = format!("sweep-draw:{attempt}:{key}");
                            (ore_core::ids::row_seed(seed, &id) % values.len() as u64) as usize
                        })
                        .collect();
                    attempt += 1;
                    // Past this many attempts the space is nearly used up:
                    // take the remaining points in grid order.
                    if attempt > 64 * draws as u64 + 1024 {
                        for i in 0..size {
                            if out.len() == draws {
                                break;
                            }
                            let combo = self.grid_point(i);
                            if seen.insert(label(&combo)) {
                                out.push(combo);
                            }
                        }
                        break;
                    }
                    let combo = self.combo(&at);
                    if seen.insert(label(&combo)) {
                        out.push(combo);
                    }
                }
                Ok(out)
            }
        }
    }
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut Vec<(String, Vec<toml::Value>)>,
) -> Result<()> {
    for (key, value) in table {
        let key = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, out)?,
            toml::Value::Array(values) => out.push((key, values.clone())),
            other => bail!(
                "key `sweep.space.{key}`: expected a list of values, found {}",
                short(other)
            ),
        }
    }
    Ok(())
}

/// A value as it reads on the command line: strings without quotes.
pub(crate) fn plain(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `key=value key=value`, in the space's order.
pub(crate) fn label(combo: &Combo) -> String {
    combo
        .iter()
        .map(|(k, v)| format!("{k}={}", plain(v)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn short(value: &toml::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(39).collect::<String>())
    } else {
        text
    }
}

/// What the sweep records of a trial before it runs (`trial-NNN.json`
/// beside its folder): a trial folder is reused only while this is
/// unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrialSpec {
    pub index: usize,
    /// The train section it runs.
    pub section: String,
    /// The space's config keys and their values (`--set SECTION.KEY=VALUE`).
    pub overrides: serde_json::Map<String, serde_json::Value>,
    pub seed: u64,
    /// The `input` value of the space, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The input folder the trial reads.
    pub input_path: Option<String>,
    /// Hash of the section's config with the overrides and defaults
    /// applied (a change outside the space shows here).
    pub config_hash: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(text: &str) -> Result<Space> {
        let table: toml::Table = toml::from_str(text).expect("toml");
        Space::parse(&table)
    }

    #[test]
    fn the_grid_is_every_combination_last_key_fastest() {
        let s =
            space("\"model.hidden\" = [16, 32]\noptim.lr = [0.001, 0.003]\nseed = [1]\n").unwrap();
        assert_eq!(s.size(), 4);
        let labels: Vec<String> = s
            .points(Method::Grid, None, 0)
            .unwrap()
            .iter()
            .map(label)
            .collect();
        assert_eq!(
            labels,
            [
                "model.hidden=16 optim.lr=0.001 seed=1",
                "model.hidden=16 optim.lr=0.003 seed=1",
                "model.hidden=32 optim.lr=0.001 seed=1",
                "model.hidden=32 optim.lr=0.003 seed=1",
            ]
        );
        assert_eq!(s.points(Method::Grid, Some(3), 0).unwrap().len(), 3);
    }

    #[test]
    fn random_draws_are_distinct_seeded_and_stable_as_draws_grow() {
        let s =
            space("a = [1, 2, 3, 4]\nb = [\"x\", \"y\", \"z\"]\ninput = [\"p\", \"q\"]\n").unwrap();
        let five = s.points(Method::Random, Some(5), 7).unwrap();
        let eight = s.points(Method::Random, Some(8), 7).unwrap();
        assert_eq!(five[..], eight[..5]);
        assert_eq!(five, s.points(Method::Random, Some(5), 7).unwrap());
        assert_ne!(five, s.points(Method::Random, Some(5), 8).unwrap());
        let all = s.points(Method::Random, Some(100), 7).unwrap();
        assert_eq!(all.len(), 24);
        let distinct: BTreeSet<String> = all.iter().map(label).collect();
        assert_eq!(distinct.len(), 24);
        assert!(
            s.points(Method::Random, None, 7)
                .unwrap_err()
                .to_string()
                .contains("sweep.trials")
        );
    }

    #[test]
    fn bad_spaces_name_the_key() {
        for (text, key) in [
            ("a = 3\n", "sweep.space.a"),
            ("a = []\n", "sweep.space.a"),
            ("seed = [-1]\n", "sweep.space.seed"),
            ("input = [3]\n", "sweep.space.input"),
            ("m.x = [[1]]\n", "sweep.space.m.x"),
            ("a = [1, 1]\n", "sweep.space.a"),
            ("", "sweep.space"),
        ] {
            let err = space(text).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{text:?}: {err}");
        }
    }

    #[test]
    fn values_read_back_through_set_as_written() {
        let s = space("a = [0.001, 0.0, 2, true, \"luong\"]\n").unwrap();
        let shown: Vec<String> = s.keys[0].1.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["0.001", "0.0", "2", "true", "\"luong\""]);
    }

    #[test]
    fn unknown_sweep_keys_are_errors() {
        let err = toml::from_str::<SweepConfig>("trails = 3\n[space]\na = [1]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("trails"), "{err}");
        let c: SweepConfig = toml::from_str("[space]\na = [1]\n").unwrap();
        assert_eq!(c.stage, "train");
        assert_eq!(c.top_k, 3);
    }
}
