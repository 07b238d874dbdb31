//! The sweep's PNGs: `trials.png` (each trial's best validation loss, the
//! ensemble's members marked) and `groups.png` (mean ± std of the score per
//! group).

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

use super::results::{GroupRow, SweepRecord, write_atomic};
use super::tables::group_label;

type Drawn = std::result::Result<(), Box<dyn std::error::Error>>;

/// Member colour and the others'.
const MEMBER: RGBColor = RGBColor(0xf2, 0x8e, 0x2b);
const OTHER: RGBColor = RGBColor(0x4e, 0x79, 0xa7);

/// Draws into a temporary PNG beside `path`, then renames it into place.
fn save(path: &Path, draw: impl FnOnce(&Path, bool) -> Drawn) -> Result<()> {
    let labels = ore_train::log::register_font();
    let name = path
        .file_name()
        .map_or_else(|| "plot".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}.png", std::process::id()));
    draw(&tmp, labels)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("cannot draw {}", path.display()))?;
    let bytes = std::fs::read(&tmp).with_context(|| format!("cannot read {}", tmp.display()))?;
    let _ = std::fs::remove_file(&tmp);
    write_atomic(path, &bytes)
}

/// `trials.png`: one bar a trial (in plan order) of its best validation
/// loss, the ensemble's members in orange.
pub(crate) fn trials(path: &Path, record: &SweepRecord) -> Result<()> {
    let bars: Vec<(f64, bool)> = record
        .trials
        .iter()
        .map(|t| (t.outcome.best_valid_loss.unwrap_or(f64::NAN), t.ensemble))
        .collect();
    let title = if record.ensemble.is_some() {
        "best validation loss per trial (orange: ensemble members)"
    } else {
        "best validation loss per trial"
    };
    save(path, |tmp, labels| {
        bar_chart(
            tmp,
            labels,
            title,
            "trial",
            "best valid loss",
            &bars,
            None,
            3,
            &|i| i.to_string(),
        )
    })
}

/// `groups.png`: one bar a group of its mean score, with a ± std line.
pub(crate) fn groups(path: &Path, metric: &str, rows: &[GroupRow]) -> Result<()> {
    let bars: Vec<(f64, bool)> = rows.iter().map(|g| (g.mean, false)).collect();
    let stds: Vec<f64> = rows.iter().map(|g| g.std).collect();
    let mut names: Vec<String> = rows.iter().map(|g| group_label(&g.group)).collect();
    // One grouping key: the axis names it, the bars show its values.
    let mut keys: Vec<&String> = rows.iter().flat_map(|g| g.group.keys()).collect();
    keys.sort();
    keys.dedup();
    let x_desc = match keys.as_slice() {
        [key] => {
            let prefix = format!("{key}=");
            for n in &mut names {
                if let Some(rest) = n.strip_prefix(&prefix) {
                    *n = rest.to_string();
                }
            }
            key.to_string()
        }
        _ => String::new(),
    };
    let title = format!("{metric}: mean ± std per group");
    let widest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    save(path, |tmp, labels| {
        bar_chart(
            tmp,
            labels,
            &title,
            &x_desc,
            metric,
            &bars,
            Some(&stds),
            widest,
            &|i| names.get(i).cloned().unwrap_or_default(),
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn bar_chart(
    path: &Path,
    labels: bool,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    bars: &[(f64, bool)],
    errors: Option<&[f64]>,
    widest_name: usize,
    name: &dyn Fn(usize) -> String,
) -> Drawn {
    let n = bars.len().max(1);
    // Room for each bar's name (about 7 px a character at 12 px).
    let per_bar = (40 + 7 * widest_name as u32).clamp(40, 160);
    let width = (160 + per_bar * n as u32).clamp(640, 2400);
    let root = BitMapBackend::new(path, (width, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let top = bars
        .iter()
        .enumerate()
        .map(|(i, (v, _))| v + errors.and_then(|e| e.get(i)).copied().unwrap_or(0.0))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let top = if top > 0.0 { top * 1.1 } else { 1.0 };
    let mut chart = ChartBuilder::on(&root);
    chart.margin(15);
    if labels {
        chart
            .caption(title, ("sans-serif", 18))
            .x_label_area_size(40)
            .y_label_area_size(60);
    }
    // Bar i is centred on x = i; labels fall on the integers.
    let mut chart = chart.build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..top)?;
    if labels {
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.min(40))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    name(i as usize)
                } else {
                    String::new()
                }
            })
            .x_desc(x_desc)
            .y_desc(y_desc)
            .draw()?;
    }
    chart.draw_series(
        bars.iter()
            .enumerate()
            .filter(|(_, (v, _))| v.is_finite())
            .map(|(i, (v, member))| {
                let color = if *member { MEMBER } else { OTHER };
                let x = i as f64;
                Rectangle::new([(x - 0.4, 0.0), (x + 0.4, *v)], color.filled())
            }),
    )?;
    if let Some(errors) = errors {
        chart.draw_series(
            bars.iter()
                .zip(errors)
                .enumerate()
                .filter(|(_, ((v, _), e))| v.is_finite() && e.is_finite() && **e > 0.0)
                .map(|(i, ((v, _), e))| {
                    let x = i as f64;
                    PathElement::new(
                        vec![(x, (v - e).max(0.0)), (x, v + e)],
                        BLACK.stroke_width(2),
                    )
                }),
        )?;
    }
    root.present()?;
    Ok(())
}
