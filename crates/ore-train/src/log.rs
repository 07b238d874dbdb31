//! The training log: one row per logging interval and per evaluation, kept
//! as CSV and Parquet beside the model, and drawn as a PNG of the curves.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use plotters::prelude::*;

use crate::error::{Result, TrainError};

/// One line of the log (also kept in the checkpoint's state, so a resumed
/// run keeps its curves).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogRow {
    pub step: u64,
    pub epoch: u64,
    /// Mean training loss since the previous row.
    pub loss: f64,
    /// Validation loss, on rows written at an evaluation.
    pub valid_loss: Option<f64>,
    /// Target units per second since the previous row.
    pub tokens_per_s: f64,
    pub lr: f64,
    pub elapsed_s: f64,
}

/// Writes `log.csv` and `log.parquet` in `dir` (each replaced atomically).
pub fn write(dir: &Path, rows: &[LogRow]) -> Result<()> {
    let mut csv = String::from("step,epoch,loss,valid_loss,tokens_per_s,lr,elapsed_s\n");
    for r in rows {
        let valid = r.valid_loss.map(|v| format!("{v:.6}")).unwrap_or_default();
        let _ = writeln!(
            csv,
            "{},{},{:.6},{},{:.1},{:.6e},{:.3}",
            r.step, r.epoch, r.loss, valid, r.tokens_per_s, r.lr, r.elapsed_s
        );
    }
    crate::io::write_atomic(&dir.join("log.csv"), csv.as_bytes())?;

    let schema = Arc::new(Schema::new(vec![
        Field::new("step", DataType::UInt64, false),
        Field::new("epoch", DataType::UInt64, false),
        Field::new("loss", DataType::Float64, false),
        Field::new("valid_loss", DataType::Float64, true),
        Field::new("tokens_per_s", DataType::Float64, false),
        Field::new("lr", DataType::Float64, false),
        Field::new("elapsed_s", DataType::Float64, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.step))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.epoch))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.loss))),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.valid_loss))),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.tokens_per_s),
        )),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.lr))),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.elapsed_s),
        )),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let path = dir.join("log.parquet");
    let tmp = crate::io::temp_path(&path);
    let file = std::fs::File::create(&tmp).map_err(|e| TrainError::io(&tmp, e))?;
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None)
        .map_err(|e| TrainError::invalid(&tmp, e.to_string()))?;
    writer
        .write(&batch)
        .and_then(|()| writer.close().map(|_| ()))
        .map_err(|e| TrainError::invalid(&tmp, e.to_string()))?;
    crate::io::commit(&tmp, &path)
}

/// Places a font may be found for the plot's labels (`ORE_FONT` first).
const FONT_PATHS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Registers a TrueType font (`ORE_FONT`, else a common system path) as
/// plotters' `sans-serif` for labels, once; false when none is found (plots
/// are then drawn without text).
pub fn register_font() -> bool {
    static FOUND: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FOUND.get_or_init(|| {
        let candidates = std::env::var("ORE_FONT")
            .ok()
            .into_iter()
            .chain(FONT_PATHS.iter().map(|s| s.to_string()));
        for path in candidates {
            if let Ok(bytes) = std::fs::read(&path) {
                let leaked: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, leaked).is_ok() {
                    return true;
                }
            }
        }
        false
    })
}

/// Draws training and validation loss (left) and learning rate and
/// tokens/s (right) against the step into a PNG.
pub fn plot(path: &Path, rows: &[LogRow]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let labels = register_font();
    let tmp = path.with_file_name(format!(".curves.tmp-{}.png", std::process::id()));
    draw(&tmp, rows, labels)
        .map_err(|e| TrainError::invalid(path, format!("cannot draw the curves: {e}")))?;
    crate::io::commit(&tmp, path)
}

fn draw(
    path: &Path,
    rows: &[LogRow],
    labels: bool,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let root = BitMapBackend::new(path, (1200, 450)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);
    let max_step = rows.iter().map(|r| r.step).max().unwrap_or(1).max(1) as f64;

    let losses = rows
        .iter()
        .map(|r| r.loss)
        .chain(rows.iter().filter_map(|r| r.valid_loss))
        .filter(|v| v.is_finite());
    let (lo, hi) = losses.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo <= hi {
        (lo.min(0.0), hi * 1.05 + 1e-9)
    } else {
        (0.0, 1.0)
    };
    let mut chart = ChartBuilder::on(&left);
    chart.margin(15);
    if labels {
        chart
            .caption("loss", ("sans-serif", 20))
            .x_label_area_size(35)
            .y_label_area_size(50);
    }
    let mut chart = chart.build_cartesian_2d(0.0..max_step, lo..hi)?;
    if labels {
        chart.configure_mesh().x_desc("step").draw()?;
    }
    let train = LineSeries::new(rows.iter().map(|r| (r.step as f64, r.loss)), &BLUE);
    let valid = LineSeries::new(
        rows.iter()
            .filter_map(|r| r.valid_loss.map(|v| (r.step as f64, v))),
        RED.stroke_width(2),
    );
    if labels {
        chart
            .draw_series(train)?
            .label("train")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
        chart
            .draw_series(valid)?
            .label("valid")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    } else {
        chart.draw_series(train)?;
        chart.draw_series(valid)?;
    }

    let max_lr = rows.iter().map(|r| r.lr).fold(0.0, f64::max).max(1e-12) * 1.1;
    let mut chart = ChartBuilder::on(&right);
    chart.margin(15);
    if labels {
        chart
            .caption("learning rate", ("sans-serif", 20))
            .x_label_area_size(35)
            .y_label_area_size(70);
    }
    let mut chart = chart.build_cartesian_2d(0.0..max_step, 0.0..max_lr)?;
    if labels {
        chart
            .configure_mesh()
            .x_desc("step")
            .y_label_formatter(&|v| format!("{v:.1e}"))
            .draw()?;
    }
    chart.draw_series(LineSeries::new(
        rows.iter().map(|r| (r.step as f64, r.lr)),
        &GREEN,
    ))?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_files_and_plot_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<LogRow> = (1..=20)
            .map(|i| LogRow {
                step: i * 10,
                epoch: i / 5,
                loss: 5.0 / i as f64,
                valid_loss: (i % 5 == 0).then(|| 6.0 / i as f64),
                tokens_per_s: 1000.0,
                lr: 1e-3,
                elapsed_s: i as f64,
            })
            .collect();
        write(dir.path(), &rows).unwrap();
        let csv = std::fs::read_to_string(dir.path().join("log.csv")).unwrap();
        assert_eq!(csv.lines().count(), 21);
        assert!(csv.lines().nth(5).unwrap().contains(",1.200000,"));
        let ds = ore_core::Dataset::open(dir.path().join("log.parquet")).unwrap();
        assert_eq!(ds.num_rows(), 20);
        plot(&dir.path().join("curves.png"), &rows).unwrap();
        let png = std::fs::read(dir.path().join("curves.png")).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
