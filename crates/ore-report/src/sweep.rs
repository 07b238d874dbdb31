//! Section 8, present once `ore sweep` has run: its trials ranked by
//! validation loss, the best trial and the ensemble of the top k, and the
//! group table, read from `sweep/_sweep.json`.

use std::path::Path;

use ore_core::Pipeline;
use serde_json::{Value, json};

use crate::doc::{Cell, Section};
use crate::error::{Error, Result};
use crate::svg::{self, Series};

/// The file `ore sweep` writes into its folder.
const SWEEP_FILE: &str = "_sweep.json";

fn f(v: &Value, key: &str) -> Option<f64> {
    v.get(key)?.as_f64()
}

fn plain(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// The sweep section, or `None` when the pipeline's sweep folder has no
/// `_sweep.json`.
pub fn section(pipeline: &Pipeline) -> Result<Option<Section>> {
    let dir = pipeline.stage_output("sweep");
    let path = dir.join(SWEEP_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let sweep: Value = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.clone(),
        source,
    })?;
    Ok(Some(render(&sweep, &dir)))
}

fn render(sweep: &Value, dir: &Path) -> Section {
    let mut s = Section::new("sweep", "8. Sweep");
    let trials: Vec<&Value> = sweep["trials"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let keys: Vec<String> = sweep["space"]
        .as_object()
        .map(|m| {
            m.keys()
                .filter(|k| *k != "seed" && *k != "input")
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let has_input = sweep["space"].get("input").is_some();
    s.para(format!(
        "`ore sweep` of `{}`: {} trials ({}), ranked by best validation loss; ★ marks the ensemble's members. Files in `{}` (`trials.csv`, `sweep.md`, `trials.png`).",
        plain(&sweep["stage"]),
        trials.len(),
        plain(&sweep["method"]),
        dir.display()
    ));
    let ranking: Vec<&str> = sweep["ranking"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let ranked: Vec<&Value> = ranking
        .iter()
        .filter_map(|name| trials.iter().copied().find(|t| t["trial"] == *name))
        .collect();
    let has_eval = trials.iter().any(|t| t.get("eval").is_some());
    let mut header: Vec<String> = vec!["rank".into(), "trial".into()];
    header.extend(keys.iter().cloned());
    if has_input {
        header.push("input".into());
    }
    header.extend(["seed", "best valid loss", "best step", "steps", "time (s)"].map(String::from));
    if let Some(e) = trials.iter().find_map(|t| t.get("eval")) {
        header.push(format!("score ({})", plain(&e["metric"])));
    }
    let rows = ranked
        .iter()
        .map(|t| {
            let member = t["ensemble"].as_bool().unwrap_or(false);
            let mut row = vec![
                t["rank"]
                    .as_u64()
                    .map_or_else(|| Cell::text("–"), Cell::Int),
                Cell::text(format!(
                    "{}{}",
                    plain(&t["trial"]),
                    if member { " ★" } else { "" }
                )),
            ];
            row.extend(
                keys.iter()
                    .map(|k| Cell::text(t["overrides"].get(k).map(plain).unwrap_or_default())),
            );
            if has_input {
                row.push(Cell::text(t.get("input").map(plain).unwrap_or_default()));
            }
            row.push(
                t["seed"]
                    .as_u64()
                    .map_or_else(|| Cell::text("–"), Cell::Int),
            );
            row.push(Cell::opt(f(t, "best_valid_loss"), 4));
            row.push(
                t["best_step"]
                    .as_u64()
                    .map_or_else(|| Cell::text("–"), Cell::Int),
            );
            row.push(
                t["steps"]
                    .as_u64()
                    .map_or_else(|| Cell::text("–"), Cell::Int),
            );
            row.push(Cell::opt(f(t, "wall_time_s"), 1));
            if has_eval {
                row.push(Cell::opt(t.get("eval").and_then(|e| f(e, "value")), 4));
            }
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    s.table(&header, rows);

    // One bar a trial; members and the others as two series, so the
    // members stand out in their own colour.
    let names: Vec<String> = trials.iter().map(|t| plain(&t["trial"])).collect();
    let loss = |t: &Value, member: bool| {
        let m = t["ensemble"].as_bool().unwrap_or(false);
        if m == member {
            f(t, "best_valid_loss").unwrap_or(f64::NAN)
        } else {
            f64::NAN
        }
    };
    let series = [
        Series::new(
            "ensemble member",
            trials.iter().map(|t| loss(t, true)).collect(),
        ),
        Series::new(
            "other trial",
            trials.iter().map(|t| loss(t, false)).collect(),
        ),
    ];
    let title = "best validation loss per trial";
    s.chart(
        title,
        svg::grouped_bars(title, "best valid loss", &names, &series),
        trials
            .iter()
            .map(|t| {
                format!(
                    "{}: {}",
                    plain(&t["trial"]),
                    f(t, "best_valid_loss").map_or_else(|| "–".into(), svg::fmt_num)
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
    );

    let score = |e: &Value| {
        format!(
            "{} {}",
            plain(&e["metric"]),
            f(e, "value").map_or_else(|| "–".into(), svg::fmt_num)
        ) + &f(e, "exact_match").map_or_else(String::new, |x| {
            format!(", exact match {}", svg::fmt_num(x))
        })
    };
    if let Some(best) = sweep.get("best").filter(|b| !b.is_null()) {
        s.para(format!(
            "Best trial alone (`{}`): {}.",
            plain(&best["trial"]),
            score(&best["eval"])
        ));
    }
    if let Some(e) = sweep.get("ensemble").filter(|e| !e.is_null()) {
        let members: Vec<String> = e["members"]
            .as_array()
            .map(|m| m.iter().map(plain).collect())
            .unwrap_or_default();
        s.para(format!(
            "Ensemble of the top {} ({}): {}{}.",
            members.len(),
            members.join(", "),
            score(&e["eval"]),
            e.get("note")
                .map_or_else(String::new, |n| format!(" — {}", plain(n)))
        ));
    }
    if let Some(groups) = sweep.get("groups").filter(|g| !g.is_null()) {
        let metric = plain(&groups["metric"]);
        let by: Vec<String> = groups["by"]
            .as_array()
            .map(|b| b.iter().map(plain).collect())
            .unwrap_or_default();
        s.heading(format!("{metric} by {}", by.join(", ")));
        let rows: Vec<&Value> = groups["rows"]
            .as_array()
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        let label = |g: &Value| {
            g["group"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}={}", plain(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        s.table(
            &["group", "trials", "mean", "std", "min", "max"],
            rows.iter()
                .map(|g| {
                    vec![
                        Cell::text(label(g)),
                        g["n"].as_u64().map_or_else(|| Cell::text("–"), Cell::Int),
                        Cell::opt(f(g, "mean"), 4),
                        Cell::opt(f(g, "std"), 4),
                        Cell::opt(f(g, "min"), 4),
                        Cell::opt(f(g, "max"), 4),
                    ]
                })
                .collect(),
        );
        let title = format!("{metric}: mean per group");
        let labels: Vec<String> = rows.iter().map(|g| label(g)).collect();
        s.chart(
            &title,
            svg::grouped_bars(
                &title,
                &metric,
                &labels,
                &[Series::new(
                    "mean",
                    rows.iter()
                        .map(|g| f(g, "mean").unwrap_or(f64::NAN))
                        .collect(),
                )],
            ),
            rows.iter()
                .map(|g| {
                    format!(
                        "{}: {} ± {}",
                        label(g),
                        f(g, "mean").map_or_else(|| "–".into(), svg::fmt_num),
                        f(g, "std").map_or_else(|| "–".into(), svg::fmt_num)
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    s.figures = json!({
        "trials": trials.len(),
        "ranking": ranking,
        "best": sweep.get("best"),
        "ensemble": sweep.get("ensemble"),
        "groups": sweep.get("groups"),
    });
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render;

    #[test]
    fn the_sweep_section_ranks_trials_and_names_the_ensemble() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("p.toml");
        std::fs::write(
            &file,
            format!(
                "[pipeline]\nname = \"p\"\noutput_root = \"{}\"\n[sweep.space]\nx = [1, 2]\n",
                dir.path().display()
            ),
        )
        .expect("write");
        let pipeline = Pipeline::load(&file).expect("pipeline");
        assert!(section(&pipeline).expect("no sweep").is_none());
        let sweep = json!({
            "stage": "train", "method": "grid", "space": {"x": [1, 2], "seed": [1]},
            "trials": [
                {"trial": "trial-000", "rank": 2, "overrides": {"x": 1}, "seed": 1, "best_valid_loss": 2.5, "best_step": 10, "steps": 20, "wall_time_s": 1.0, "ensemble": true},
                {"trial": "trial-001", "rank": 1, "overrides": {"x": 2}, "seed": 1, "best_valid_loss": 1.5, "best_step": 20, "steps": 20, "wall_time_s": 1.0, "ensemble": true}
            ],
            "ranking": ["trial-001", "trial-000"],
            "best": {"trial": "trial-001", "eval": {"metric": "bleu", "value": 40.0, "exact_match": 0.5}},
            "ensemble": {"members": ["trial-001", "trial-000"], "eval": {"metric": "bleu", "value": 42.0}},
            "groups": {"by": ["x"], "metric": "best_valid_loss", "rows": [{"group": {"x": 1}, "n": 1, "mean": 2.5, "std": 0.0, "min": 2.5, "max": 2.5}]}
        });
        let out = dir.path().join("p/sweep");
        std::fs::create_dir_all(&out).expect("mkdir");
        std::fs::write(out.join(SWEEP_FILE), sweep.to_string()).expect("write");
        let s = section(&pipeline).expect("read").expect("a section");
        assert_eq!(s.charts(), 2);
        let report = crate::Report {
            pipeline: "p".into(),
            pipeline_file: "p.toml".into(),
            sections: vec![s],
        };
        let md = render::markdown(&report);
        assert!(md.contains("| 1 | trial-001 ★ | 2 | 1 | 1.5000 |"), "{md}");
        assert!(md.find("trial-001 ★").unwrap() < md.find("trial-000 ★").unwrap());
        assert!(
            md.contains("Ensemble of the top 2 (trial-001, trial-000): bleu 42."),
            "{md}"
        );
        assert!(
            md.contains("Best trial alone (`trial-001`): bleu 40, exact match 0.5."),
            "{md}"
        );
        let html = render::html(&report);
        assert!(html.contains("8. Sweep") && html.contains("<svg"));
    }
}
