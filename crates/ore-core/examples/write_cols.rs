//! What each column of a dataset costs the writer: reads the dataset into
//! memory (untimed), then writes every column alone as a dataset of its own
//! with the default [`WriteOptions`] (the encodings the stages use), best of
//! three, and prints the seconds per column. bench/notes.md uses it to say
//! where a stage's writer thread spends its time.
//!
//! ```text
//! cargo run --release -p ore-core --example write_cols -- DATASET [SCRATCH_DIR]
//! ```

use std::sync::Arc;
use std::time::Instant;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use ore_core::{Dataset, DatasetWriter, WriteOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: write_cols DATASET [SCRATCH_DIR]")?;
    let scratch = args
        .next()
        .map_or_else(std::env::temp_dir, std::path::PathBuf::from);
    let dataset = Dataset::open(&path)?;
    let batches: Vec<RecordBatch> = dataset.batches(8192).collect::<Result<_, _>>()?;
    let Some(first) = batches.first() else {
        return Err(format!("{path}: no rows").into());
    };
    let schema = first.schema();
    let mut total = 0.0;
    for (i, field) in schema.fields().iter().enumerate() {
        let alone = Arc::new(Schema::new(vec![field.as_ref().clone()]));
        let out = scratch.join(format!("write_cols-{}-{i}", std::process::id()));
        let mut best = f64::MAX;
        for _ in 0..3 {
            let start = Instant::now();
            let mut writer = DatasetWriter::create(&out, alone.clone(), WriteOptions::default())?;
            for batch in &batches {
                writer.write(&RecordBatch::try_new(
                    alone.clone(),
                    vec![batch.column(i).clone()],
                )?)?;
            }
            writer.commit()?;
            best = best.min(start.elapsed().as_secs_f64());
        }
        std::fs::remove_dir_all(&out)?;
        total += best;
        println!("{:24} {best:.3} s", field.name());
    }
    println!("{:24} {total:.3} s", "all columns");
    Ok(())
}
