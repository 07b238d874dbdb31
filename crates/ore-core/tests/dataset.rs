//! Dataset round trips, atomic commit under failure and kill, and the row
//! balance of stage outputs.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::builder::{ListBuilder, StringBuilder, StructBuilder, UInt32Builder};
use arrow_array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray, UInt16Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use ore_core::schema::{entities_type, timestamp_type, utf8_list_type};
use ore_core::{Dataset, DatasetWriter, Manifest, StageInfo, StageOutput, WriteOptions};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::{ColumnChunkMetaData, RowGroupMetaData};
use parquet::file::reader::{FileReader, SerializedFileReader};

fn table_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("title", DataType::Utf8, true),
        Field::new("tokens", utf8_list_type(), true),
        Field::new("entities", entities_type(), true),
        Field::new("fetched_at", timestamp_type(), true),
        Field::new("status", DataType::UInt16, true),
    ]))
}

/// Rows with every column type the tables use, nulls included.
fn table_batch(start: usize, n: usize) -> RecordBatch {
    let ids: Vec<String> = (start..start + n).map(|i| format!("doc-{i:05}")).collect();
    let titles: Vec<Option<String>> = (start..start + n)
        .map(|i| (i % 3 != 0).then(|| format!("标题 {i} — title")))
        .collect();
    let mut tokens = ListBuilder::new(StringBuilder::new());
    let entity_fields = match entities_type() {
        DataType::List(f) => match f.data_type() {
            DataType::Struct(fields) => fields.clone(),
            _ => unreachable!("entities are structs"),
        },
        _ => unreachable!("entities are a list"),
    };
    let mut entities =
        ListBuilder::new(StructBuilder::from_fields(entity_fields.clone(), 0)).with_field(
            Arc::new(Field::new("item", DataType::Struct(entity_fields), true)),
        );
    for i in start..start + n {
        if i % 5 == 4 {
            tokens.append_null();
            entities.append_null();
            continue;
        }
        for t in 0..i % 4 {
            tokens.values().append_value(format!("词{t}"));
        }
        tokens.append(true);
        for e in 0..i % 3 {
            let s = entities.values();
            s.field_builder::<UInt32Builder>(0)
                .expect("start")
                .append_value(e as u32);
            s.field_builder::<UInt32Builder>(1)
                .expect("end")
                .append_value(e as u32 + 1);
            s.field_builder::<StringBuilder>(2)
                .expect("label")
                .append_value("LOC");
            s.append(true);
        }
        entities.append(true);
    }
    let times: TimestampMicrosecondArray = (start..start + n)
        .map(|i| (i % 7 != 0).then_some(1_767_225_600_000_000 + i as i64))
        .collect::<TimestampMicrosecondArray>()
        .with_timezone("UTC");
    let status: UInt16Array = (start..start + n)
        .map(|i| (i % 11 != 0).then_some(200))
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(StringArray::from(titles)),
        Arc::new(tokens.finish()),
        Arc::new(entities.finish()),
        Arc::new(times),
        Arc::new(status),
    ];
    RecordBatch::try_new(table_schema(), columns).expect("valid batch")
}

fn read_all(path: &Path) -> Vec<RecordBatch> {
    Dataset::open(path)
        .expect("open")
        .batches(1000)
        .collect::<Result<Vec<_>, _>>()
        .expect("read")
}

fn concat(batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(&table_schema(), batches).expect("concat")
}

fn small_files() -> WriteOptions {
    WriteOptions {
        row_group_rows: 50,
        file_rows: 120,
        ..WriteOptions::default()
    }
}

/// Writes `batch` as a one-file dataset in `dir` and returns the metadata
/// of its first row group.
fn written_row_group(dir: &Path, batch: &RecordBatch) -> RowGroupMetaData {
    let mut w =
        DatasetWriter::create(dir, batch.schema(), WriteOptions::default()).expect("create");
    w.write(batch).expect("write");
    w.commit().expect("commit");
    let file = std::fs::File::open(dir.join("part-00000.parquet")).expect("part file");
    let reader = SerializedFileReader::new(file).expect("parquet");
    reader.metadata().row_group(0).clone()
}

/// The chunk of the leaf column at `path` (e.g. `tokens.list.item`).
fn chunk<'a>(group: &'a RowGroupMetaData, path: &str) -> &'a ColumnChunkMetaData {
    group
        .columns()
        .iter()
        .find(|c| c.column_path().string() == path)
        .unwrap_or_else(|| panic!("no column {path}"))
}

#[test]
fn every_column_type_round_trips_across_part_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("tokens");
    let mut writer = DatasetWriter::create(&target, table_schema(), small_files()).expect("create");
    let batches = [
        table_batch(0, 100),
        table_batch(100, 250),
        table_batch(350, 1),
    ];
    for b in &batches {
        writer.write(b).expect("write");
    }
    assert_eq!(writer.commit().expect("commit"), 351);

    let dataset = Dataset::open(&target).expect("open");
    assert_eq!(dataset.num_rows(), 351);
    assert_eq!(dataset.files().len(), 3, "120 rows a file");
    assert!(
        dataset.files().iter().all(|f| f.row_groups >= 2),
        "50 rows a row group"
    );
    assert_eq!(dataset.schema().fields(), table_schema().fields());
    assert_eq!(concat(&read_all(&target)), concat(&batches));
}

#[test]
fn empty_dataset_keeps_its_schema() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("empty");
    DatasetWriter::create(&target, table_schema(), WriteOptions::default())
        .expect("create")
        .commit()
        .expect("commit");
    let dataset = Dataset::open(&target).expect("open");
    assert_eq!(dataset.num_rows(), 0);
    assert_eq!(dataset.schema().fields(), table_schema().fields());
}

#[test]
fn failed_write_leaves_previous_output_intact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("out");
    let mut first = DatasetWriter::create(&target, table_schema(), small_files()).expect("create");
    first.write(&table_batch(0, 10)).expect("write");
    first.commit().expect("commit");

    {
        let mut second =
            DatasetWriter::create(&target, table_schema(), small_files()).expect("create");
        second.write(&table_batch(0, 500)).expect("write");
        let other = Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, false)]));
        let bad = RecordBatch::try_new(
            other,
            vec![Arc::new(StringArray::from(vec!["a"])) as ArrayRef],
        )
        .expect("batch");
        let err = second.write(&bad).expect_err("schema mismatch must fail");
        assert!(err.to_string().contains("schema"), "{err}");
        // `second` is dropped here without commit.
    }
    assert_eq!(Dataset::open(&target).expect("open").num_rows(), 10);
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).expect("ls").collect();
    assert_eq!(leftovers.len(), 1, "staging folder removed");
}

const CHILD_ENV: &str = "ORE_TEST_KILLED_WRITER_TARGET";

/// Run by `killed_writer_leaves_no_readable_partial_output` in a child
/// process: writes slowly forever until killed.
#[test]
#[ignore = "helper process for the kill test"]
fn slow_writer_child() {
    let Ok(target) = std::env::var(CHILD_ENV) else {
        return;
    };
    let opts = WriteOptions {
        row_group_rows: 10,
        file_rows: 10,
        ..WriteOptions::default()
    };
    let mut writer = DatasetWriter::create(&target, table_schema(), opts).expect("create");
    for i in 0.. {
        writer.write(&table_batch(i * 10, 10)).expect("write");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn killed_writer_leaves_no_readable_partial_output() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("out");
    let mut first =
        DatasetWriter::create(&target, table_schema(), WriteOptions::default()).expect("create");
    first.write(&table_batch(0, 7)).expect("write");
    first.commit().expect("commit");

    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "slow_writer_child", "--ignored", "--nocapture"])
        .env(CHILD_ENV, &target)
        .spawn()
        .expect("spawn writer");
    // Wait until the child has written several part files into its staging
    // folder, then kill it without warning.
    let deadline = Instant::now() + Duration::from_secs(60);
    let staged_parts = || -> usize {
        std::fs::read_dir(tmp.path())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".out.tmp-"))
            .map(|e| std::fs::read_dir(e.path()).map(|d| d.count()).unwrap_or(0))
            .sum()
    };
    while staged_parts() < 3 {
        assert!(Instant::now() < deadline, "child never wrote");
        assert!(
            child.try_wait().expect("poll").is_none(),
            "child exited early"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill");
    child.wait().expect("reap");

    // The previous output is untouched and is all a reader sees.
    let dataset = Dataset::open(&target).expect("open");
    assert_eq!(dataset.num_rows(), 7);
    assert_eq!(concat(&read_all(&target)), table_batch(0, 7));
    // Opening the parent as a dataset does not pick up the hidden staging folder.
    assert_eq!(
        Dataset::open(tmp.path()).expect("open parent").num_rows(),
        7
    );

    // The next writer removes the dead writer's staging folder.
    DatasetWriter::create(&target, table_schema(), WriteOptions::default())
        .expect("create")
        .commit()
        .expect("commit");
    assert_eq!(staged_parts(), 0);
}

#[test]
fn stage_output_refuses_unbalanced_counts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("clean");
    let info = StageInfo::new("clean", &serde_json::json!({"min_chars": 5}), 1);
    let mut out = StageOutput::create(&target, table_schema(), info, WriteOptions::default())
        .expect("create");
    out.count_input(10);
    out.write(&table_batch(0, 6)).expect("write");
    out.reject_all(&table_batch(6, 3), "too_short", None)
        .expect("reject");
    let err = out.commit().expect_err("one row unaccounted for");
    assert!(err.to_string().contains("10 in"), "{err}");
    assert!(!target.exists(), "nothing committed");
}

#[test]
fn scratch_files_have_no_name_and_read_back() {
    use std::io::{Read, Seek, Write};
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("clean");
    let info = StageInfo::new("clean", &serde_json::json!({}), 1);
    let out = StageOutput::create(&target, table_schema(), info, WriteOptions::default())
        .expect("create");
    let listing = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").path().display().to_string())
            .collect();
        names.sort();
        names
    };
    let staged: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(staged.len(), 1, "one staging folder: {staged:?}");
    let before = listing(&staged[0]);
    let mut scratch = out.scratch_file().expect("scratch file");
    scratch.write_all(b"spilled rows").expect("write");
    scratch.rewind().expect("rewind");
    let mut back = String::new();
    scratch.read_to_string(&mut back).expect("read");
    assert_eq!(back, "spilled rows");
    assert_eq!(listing(&staged[0]), before, "the scratch file has no name");
    drop(out);
    assert_eq!(
        listing(tmp.path()),
        Vec::<String>::new(),
        "nothing left behind"
    );
}

#[test]
fn stage_output_writes_rejects_and_manifest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let input_dir = tmp.path().join("input");
    let mut w =
        DatasetWriter::create(&input_dir, table_schema(), WriteOptions::default()).expect("create");
    w.write(&table_batch(0, 10)).expect("write");
    w.commit().expect("commit");
    let input = Dataset::open(&input_dir).expect("open");

    let target = tmp.path().join("clean");
    let config = serde_json::json!({"min_chars": 5, "keep": ["zh", "en"]});
    let info = StageInfo::new("clean", &config, 42);
    let mut out = StageOutput::create(&target, table_schema(), info, WriteOptions::default())
        .expect("create");
    out.add_input(&input).expect("input");
    for batch in input.batches(4) {
        let batch = batch.expect("read");
        out.count_input(batch.num_rows() as u64);
        let n = batch.num_rows();
        out.write(&batch.slice(0, n - 1)).expect("write");
        let last = batch.slice(n - 1, 1);
        out.reject(
            &last,
            &["near_duplicate"],
            Some(&[Some("doc-00000".to_string())]),
        )
        .expect("reject");
    }
    out.set_summary("clusters", serde_json::json!(3));
    let manifest = out.commit().expect("commit");

    assert_eq!(manifest, Manifest::read(&target).expect("read manifest"));
    assert_eq!(manifest.stage, "clean");
    assert_eq!(manifest.seed, 42);
    assert_eq!(manifest.config, config);
    assert!(manifest.config_hash.starts_with("sha256:"));
    assert_eq!(manifest.inputs.len(), 1);
    assert_eq!(manifest.inputs[0].rows, 10);
    assert_eq!(
        manifest.inputs[0].content_hash,
        input.content_hash().expect("hash")
    );
    assert_eq!(
        (
            manifest.rows.input,
            manifest.rows.output,
            manifest.rows.rejected
        ),
        (10, 7, 3)
    );
    assert_eq!(manifest.rows.rejected_by_reason["near_duplicate"], 3);
    assert!(manifest.files.iter().any(|f| f.starts_with("_rejects/")));

    assert_eq!(
        Dataset::open(&target).expect("open").num_rows(),
        7,
        "rejects are not data"
    );
    let rejects = Dataset::open(target.join("_rejects")).expect("open rejects");
    assert_eq!(rejects.num_rows(), 3);
    assert_eq!(
        rejects
            .schema()
            .field_with_name("reject_reason")
            .expect("reason")
            .data_type(),
        &DataType::Utf8
    );
    assert_eq!(
        ore_core::stage::reject_counts(&target).expect("counts")["near_duplicate"],
        3
    );
}

/// Rejects closed before the output is finished are committed with it, and
/// no row can be rejected after.
#[test]
fn rejects_closed_early_are_committed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("clean");
    let info = StageInfo::new("clean", &serde_json::json!({}), 0);
    let mut out = StageOutput::create(&target, table_schema(), info, WriteOptions::default())
        .expect("create");
    let batch = table_batch(0, 10);
    out.count_input(10);
    out.reject(&batch.slice(0, 4), &["too_short"; 4], None)
        .expect("reject");
    out.close_rejects().expect("close rejects");
    let err = out
        .reject(&batch.slice(4, 1), &["too_short"], None)
        .expect_err("rejecting after the close");
    assert!(
        err.to_string().contains("after the rejects were closed"),
        "{err}"
    );
    out.write(&batch.slice(4, 6)).expect("write");
    let manifest = out.commit().expect("commit");
    assert_eq!((manifest.rows.output, manifest.rows.rejected), (6, 4));
    assert!(manifest.files.iter().any(|f| f.starts_with("_rejects/")));
    let rejects = Dataset::open(target.join("_rejects")).expect("open rejects");
    assert_eq!(rejects.num_rows(), 4);
}

#[test]
fn failed_stage_leaves_previous_output_intact() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let target = tmp.path().join("clean");
    let info = || StageInfo::new("clean", &serde_json::json!({}), 1);
    let mut first = StageOutput::create(&target, table_schema(), info(), WriteOptions::default())
        .expect("create");
    first.count_input(4);
    first.write(&table_batch(0, 4)).expect("write");
    first.commit().expect("commit");
    {
        let mut second =
            StageOutput::create(&target, table_schema(), info(), small_files()).expect("create");
        for i in 0..20 {
            second.count_input(50);
            second.write(&table_batch(i * 50, 50)).expect("write");
        }
        let other = Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, false)]));
        let bad = RecordBatch::try_new(
            other,
            vec![Arc::new(StringArray::from(vec!["a"])) as ArrayRef],
        )
        .expect("batch");
        let err = second
            .write(&bad)
            .expect_err("schema mismatch must fail at once");
        assert!(err.to_string().contains("schema"), "{err}");
    }
    assert_eq!(Dataset::open(&target).expect("open").num_rows(), 4);
    assert_eq!(
        std::fs::read_dir(tmp.path()).expect("ls").count(),
        1,
        "staging folder removed"
    );
}

#[test]
fn content_hash_changes_with_content() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, n: usize| {
        let path = tmp.path().join(name);
        let mut w =
            DatasetWriter::create(&path, table_schema(), WriteOptions::default()).expect("create");
        w.write(&table_batch(0, n)).expect("write");
        w.commit().expect("commit");
        Dataset::open(&path)
            .expect("open")
            .content_hash()
            .expect("hash")
    };
    assert_eq!(write("a", 5), write("b", 5));
    assert_ne!(write("a", 5), write("c", 6));
}

#[test]
fn non_parquet_and_corrupt_files_are_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let text = tmp.path().join("notes.parquet");
    std::fs::write(&text, "just some text, not parquet at all").expect("write");
    let err = Dataset::open(&text).expect_err("text").to_string();
    assert!(
        err.contains("notes.parquet") && err.contains("not a Parquet file"),
        "{err}"
    );

    let good = tmp.path().join("good");
    let mut w =
        DatasetWriter::create(&good, table_schema(), WriteOptions::default()).expect("create");
    w.write(&table_batch(0, 50)).expect("write");
    w.commit().expect("commit");
    let part = good.join("part-00000.parquet");
    let bytes = std::fs::read(&part).expect("read");
    let truncated = tmp.path().join("truncated.parquet");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).expect("write");
    let err = Dataset::open(&truncated)
        .expect_err("truncated")
        .to_string();
    assert!(
        err.contains("truncated.parquet") && err.contains("truncated or corrupt"),
        "{err}"
    );

    let mut garbled = bytes.clone();
    let footer_len = u32::from_le_bytes(
        garbled[garbled.len() - 8..garbled.len() - 4]
            .try_into()
            .expect("4 bytes"),
    ) as usize;
    let footer_start = garbled.len() - 8 - footer_len;
    for b in &mut garbled[footer_start..footer_start + footer_len / 2] {
        *b = 0xFF;
    }
    let corrupt = tmp.path().join("corrupt.parquet");
    std::fs::write(&corrupt, &garbled).expect("write");
    let err = Dataset::open(&corrupt)
        .expect_err("corrupt footer")
        .to_string();
    assert!(
        err.contains("corrupt.parquet") && err.contains("corrupt footer"),
        "{err}"
    );

    let empty = tmp.path().join("empty-dir");
    std::fs::create_dir(&empty).expect("mkdir");
    let err = Dataset::open(&empty).expect_err("empty").to_string();
    assert!(err.contains("no Parquet files"), "{err}");
}

/// Whole documents (`text`) are written without a dictionary, short
/// repeated values (`source`) with one.
#[test]
fn free_text_columns_have_no_dictionary() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // The field's metadata decides, not its name: `body` is declared
    // distinct, the second `text`-like column is not.
    let schema = Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        ore_core::schema::distinct_utf8("body", false),
        Field::new("text", DataType::Utf8, false),
    ]));
    let texts: Vec<String> = (0..200).map(|i| format!("文档 {i} 的正文。")).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["pd"; 200])) as ArrayRef,
            Arc::new(StringArray::from_iter_values(&texts)),
            Arc::new(StringArray::from_iter_values(&texts)),
        ],
    )
    .expect("batch");
    let dir = tmp.path().join("docs");
    let group = written_row_group(&dir, &batch);
    let dictionary = |path: &str| chunk(&group, path).dictionary_page_offset().is_some();
    assert!(dictionary("source"), "source has a dictionary");
    assert!(!dictionary("body"), "body has none");
    assert!(dictionary("text"), "undeclared text has one");
    // The declaration travels with the data: read back, the field says it.
    let back = Dataset::open(&dir).expect("open");
    assert_eq!(back.num_rows(), 200);
    let body = back.schema().field_with_name("body").expect("body");
    assert!(ore_core::schema::is_plain(body));
    assert!(!ore_core::schema::is_plain(
        back.schema().field_with_name("text").expect("text")
    ));
    // What a stage passing foreign columns through gives them.
    assert!(ore_core::schema::is_plain(&ore_core::schema::adopt(
        &Field::new("doc_id", DataType::Utf8, false)
    )));
    assert!(!ore_core::schema::is_plain(&ore_core::schema::adopt(
        &Field::new("source", DataType::Utf8, false)
    )));
}

/// A stage output whose middle rows go through the parallel encoder: the
/// row and file bounds hold, the rows read back in order, and the files are
/// the same bytes for any pool size.
#[test]
fn encoded_row_groups_round_trip_between_streamed_batches() {
    let batches = [
        table_batch(0, 30),
        table_batch(30, 100),
        table_batch(130, 200),
        // Streamed after encoded groups: cut to the row group bound too.
        table_batch(330, 121),
    ];
    let write = |threads: usize, target: &Path| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let info = StageInfo::new("clean", &serde_json::json!({}), 1);
            let mut out =
                StageOutput::create(target, table_schema(), info, small_files()).expect("create");
            out.count_input(451);
            out.write(&batches[0]).expect("write");
            for batch in &batches[1..3] {
                out.write_parallel(batch.clone()).expect("write parallel");
            }
            out.write(&batches[3]).expect("write");
            assert_eq!(out.commit().expect("commit").rows.output, 451);
        });
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let (one, three) = (tmp.path().join("one"), tmp.path().join("three"));
    write(1, &one);
    write(3, &three);

    let dataset = Dataset::open(&one).expect("open");
    assert_eq!(dataset.num_rows(), 451);
    assert!(
        dataset.files().iter().all(|f| f.rows <= 120),
        "120 rows a file"
    );
    for file in dataset.files() {
        let reader = SerializedFileReader::new(std::fs::File::open(&file.path).expect("open part"))
            .expect("parquet");
        let meta = reader.metadata();
        assert!(
            meta.row_groups().iter().all(|g| g.num_rows() <= 50),
            "50 rows a row group"
        );
    }
    assert_eq!(concat(&read_all(&one)), concat(&batches));
    let three_files = Dataset::open(&three).expect("open").files().to_vec();
    assert_eq!(dataset.files().len(), three_files.len());
    for (a, b) in dataset.files().iter().zip(&three_files) {
        assert_eq!(
            std::fs::read(&a.path).expect("read"),
            std::fs::read(&b.path).expect("read"),
            "{} differs between 1 and 3 threads",
            a.path.display()
        );
    }
}

#[test]
fn token_lists_have_no_page_statistics() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let group = written_row_group(&tmp.path().join("tokens"), &table_batch(0, 100));
    let stats = |path: &str| chunk(&group, path).statistics().is_some();
    assert!(stats("doc_id"), "ids keep their min/max");
    assert!(!stats("tokens.list.item"), "tokens have none");
    assert!(stats("entities.list.item.start"), "offsets keep theirs");
}

#[test]
fn offsets_are_delta_encoded_and_ids_have_no_dictionary() {
    use parquet::basic::Encoding;
    let schema = Arc::new(Schema::new(vec![
        ore_core::schema::distinct_utf8("doc_id", false),
        Field::new("tokens", utf8_list_type(), false),
        Field::new("token_starts", ore_core::schema::u32_list_type(), false),
    ]));
    let mut tokens = ListBuilder::new(StringBuilder::new());
    let mut starts = ListBuilder::new(UInt32Builder::new());
    for row in 0..300u32 {
        for t in 0..row % 7 {
            tokens
                .values()
                .append_value(["我们", "的", "北京"][t as usize % 3]);
            starts.values().append_value(t * 2);
        }
        tokens.append(true);
        starts.append(true);
    }
    let ids: Vec<String> = (0..300).map(|i| format!("doc-{i:05}")).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(tokens.finish()),
            Arc::new(starts.finish()),
        ],
    )
    .expect("batch");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("tokens");
    let group = written_row_group(&dir, &batch);
    assert!(chunk(&group, "doc_id").dictionary_page_offset().is_none());
    assert!(
        chunk(&group, "tokens.list.item")
            .dictionary_page_offset()
            .is_some()
    );
    let offsets = chunk(&group, "token_starts.list.item");
    assert!(offsets.dictionary_page_offset().is_none());
    let encodings: Vec<Encoding> = offsets.encodings().collect();
    assert!(
        encodings.contains(&Encoding::DELTA_BINARY_PACKED),
        "{encodings:?}"
    );

    let dataset = Dataset::open(&dir).expect("open");
    let back: Vec<RecordBatch> = dataset
        .batches(1024)
        .collect::<Result<_, _>>()
        .expect("read");
    assert_eq!(back.len(), 1);
    assert_eq!(back[0], batch);
}

/// List leaves are cut into pages of about 128 KiB, so that a stage's
/// writer compresses them as it goes rather than all at its end.
#[test]
fn list_leaves_get_small_pages() {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "token_starts",
        ore_core::schema::u32_list_type(),
        false,
    )]));
    // 800,000 offsets rising by steps of 1–256: more than a megabyte once
    // delta-encoded (1 MiB is parquet-rs's default page bound).
    let mut starts = ListBuilder::new(UInt32Builder::new());
    let mut state = 12345u32;
    for _ in 0..20_000 {
        let mut at = 0u32;
        for _ in 0..40 {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            at += 1 + (state >> 24);
            starts.values().append_value(at);
        }
        starts.append(true);
    }
    let batch = RecordBatch::try_new(schema, vec![Arc::new(starts.finish())]).expect("batch");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("starts");
    written_row_group(&dir, &batch);
    let file = std::fs::File::open(dir.join("part-00000.parquet")).expect("part file");
    let reader = SerializedFileReader::new(file).expect("parquet");
    let encoded =
        chunk(reader.metadata().row_group(0), "token_starts.list.item").uncompressed_size();
    let pages = reader
        .get_row_group(0)
        .and_then(|group| group.get_column_page_reader(0))
        .expect("page reader")
        .map(|page| page.expect("page"))
        .filter(|page| !matches!(page, parquet::column::page::Page::DictionaryPage { .. }))
        .count();
    assert!(encoded > 600_000, "{encoded} bytes encoded");
    assert!(
        pages as i64 >= encoded / (160 << 10),
        "{pages} pages for {encoded} bytes"
    );
}

/// An input file as another tool would write it: `codec`, row groups of
/// `group_rows`, a dictionary on every column (which ore's writer leaves off
/// `doc_id` and `text`, so a copied chunk shows).
fn foreign_input(path: &Path, batch: &RecordBatch, group_rows: usize, codec: Compression) {
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(codec)
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let file = std::fs::File::create(path).expect("create input");
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), Some(props))
        .expect("arrow writer");
    writer.write(batch).expect("write input");
    writer.close().expect("close input");
}

/// The row groups of the one part file of the dataset in `dir`.
fn row_groups_of(dir: &Path) -> Vec<RowGroupMetaData> {
    let file = std::fs::File::open(dir.join("part-00000.parquet")).expect("part file");
    let reader = SerializedFileReader::new(file).expect("parquet");
    reader.metadata().row_groups().to_vec()
}

#[test]
fn unchanged_columns_are_copied_row_group_by_row_group() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let rows = 10;
    let in_schema = Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, true),
    ]));
    let ids: Vec<String> = (0..rows).map(|i| format!("doc-{i}")).collect();
    let texts: Vec<Option<String>> = (0..rows)
        .map(|i| (i != 5).then(|| format!("正文 {i} text")))
        .collect();
    let input = RecordBatch::try_new(
        in_schema.clone(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(texts)),
        ],
    )
    .expect("input batch");
    let zstd = Compression::ZSTD(ZstdLevel::try_new(9).expect("level"));
    for (name, codec) in [("in", zstd), ("in-plain", Compression::UNCOMPRESSED)] {
        std::fs::create_dir(tmp.path().join(name)).expect("input folder");
        foreign_input(
            &tmp.path().join(name).join("part-00000.parquet"),
            &input,
            4,
            codec,
        );
    }
    let dataset = Dataset::open(tmp.path().join("in")).expect("open input");
    assert_eq!(dataset.row_groups(), vec![(0, 0, 4), (0, 1, 4), (0, 2, 2)]);
    assert_eq!(dataset.null_count(0, 0, "text"), Some(0));
    assert_eq!(dataset.null_count(0, 1, "text"), Some(1));
    // Batches of 3 rows never cross a row group: 3 + 1, 3 + 1, 2.
    let batches: Vec<RecordBatch> = dataset
        .batches(3)
        .aligned_to_row_groups()
        .collect::<Result<_, _>>()
        .expect("read input");
    let sizes: Vec<usize> = batches.iter().map(RecordBatch::num_rows).collect();
    assert_eq!(sizes, [3, 1, 3, 1, 2]);

    // The output: the two input columns and a new one, `n`, which is
    // encoded. doc_id and text are copied from the zstd input (with its
    // dictionary pages and sizes), but encoded where `strict` declares text
    // not null, which no input chunk stands for, and from the uncompressed
    // input: ore's files are zstd throughout.
    for (name, strict) in [("in", false), ("in", true), ("in-plain", false)] {
        let dataset = Dataset::open(tmp.path().join(name)).expect("open input");
        let out_schema = Arc::new(Schema::new(vec![
            ore_core::schema::distinct_utf8("doc_id", false),
            ore_core::schema::distinct_utf8("text", !strict),
            Field::new("n", DataType::UInt16, false),
        ]));
        let dir = tmp.path().join(format!("out-{name}-{strict}"));
        let info = StageInfo::new("copy", &serde_json::json!({}), 0);
        let mut out = StageOutput::create(&dir, out_schema.clone(), info, WriteOptions::default())
            .expect("output");
        out.count_input(rows as u64);
        let mut batches = dataset
            .batches(3)
            .aligned_to_row_groups()
            .map(|b| b.expect("read input"));
        let mut row = 0u16;
        for (file, group, group_rows) in dataset.row_groups() {
            let source = dataset
                .row_group_source(file, group, &["doc_id", "text"])
                .expect("row group source");
            assert!(source.copies_columns());
            let mut left = group_rows as usize;
            while left > 0 {
                let batch = batches.next().expect("a batch");
                let n = batch.num_rows();
                let numbers: Vec<u16> = (row..row + n as u16).collect();
                row += n as u16;
                let mut columns = batch.columns().to_vec();
                if strict {
                    // Text the declared-not-null field can take.
                    columns[1] = Arc::new(StringArray::from(vec!["x"; n]));
                }
                columns.push(Arc::new(UInt16Array::from(numbers)));
                let batch = RecordBatch::try_new(out_schema.clone(), columns).expect("batch");
                out.write_from(&batch, &source).expect("write from");
                left -= n;
            }
        }
        out.commit().expect("commit");

        let groups = row_groups_of(&dir);
        assert_eq!(
            groups.iter().map(|g| g.num_rows()).collect::<Vec<_>>(),
            [4, 4, 2]
        );
        let input_groups = row_groups_of(&tmp.path().join(name));
        for (group, input_group) in groups.iter().zip(&input_groups) {
            for (column, copied) in [("doc_id", name == "in"), ("text", name == "in" && !strict)] {
                let (out, input) = (chunk(group, column), chunk(input_group, column));
                assert!(
                    matches!(out.compression(), Compression::ZSTD(_)),
                    "{column}"
                );
                assert_eq!(
                    out.dictionary_page_offset().is_some(),
                    copied,
                    "{name} {column}"
                );
                if copied {
                    assert_eq!(out.compressed_size(), input.compressed_size(), "{column}");
                }
            }
            assert!(matches!(
                chunk(group, "n").compression(),
                Compression::ZSTD(_)
            ));
        }
        let read = concat_any(&read_all(&dir));
        assert_eq!(read.column(0), input.column(0));
        if !strict {
            assert_eq!(read.column(1), input.column(1));
        }
        let expected: Vec<u16> = (0..rows as u16).collect();
        assert_eq!(
            read.column(2).as_ref(),
            &UInt16Array::from(expected) as &dyn arrow_array::Array
        );
    }

    // A group cannot take chunks of another number of rows.
    let out_schema = Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, true),
    ]));
    let info = StageInfo::new("copy", &serde_json::json!({}), 0);
    let mut out = StageOutput::create(
        tmp.path().join("short"),
        out_schema.clone(),
        info,
        WriteOptions::default(),
    )
    .expect("output");
    out.count_input(3);
    let source = dataset
        .row_group_source(0, 0, &["doc_id", "text"])
        .expect("source");
    out.write_from(&batches[0], &source).expect("write");
    let err = out.commit().expect_err("3 rows for a group of 4");
    assert!(
        err.to_string().contains("holds 4 rows") || err.to_string().contains("hold 4 rows"),
        "{err}"
    );
    assert!(!tmp.path().join("short").exists());

    // A source that copies nothing keeps the input's row-group bounds
    // (closing early at the output's row bound), and encodes every column.
    let info = StageInfo::new("copy", &serde_json::json!({}), 0);
    let dir = tmp.path().join("bounds");
    let opts = WriteOptions {
        row_group_rows: 3,
        ..WriteOptions::default()
    };
    let mut out = StageOutput::create(&dir, out_schema.clone(), info, opts).expect("output");
    out.count_input(rows as u64);
    let mut batches = dataset.batches(2).aligned_to_row_groups();
    for (file, group, group_rows) in dataset.row_groups() {
        let source = dataset.row_group_source(file, group, &[]).expect("source");
        assert!(!source.copies_columns());
        assert_eq!(source.rows(), group_rows);
        let mut left = group_rows as usize;
        while left > 0 {
            let batch = batches.next().expect("a batch").expect("read");
            left -= batch.num_rows();
            out.write_from(&batch, &source).expect("write from");
        }
    }
    out.commit().expect("commit");
    let groups = row_groups_of(&dir);
    // Input groups of 4, 4 and 2 rows, read 2 at a time: 4 would pass the
    // bound of 3, so each group of 4 closes after 2 rows.
    assert_eq!(
        groups.iter().map(|g| g.num_rows()).collect::<Vec<_>>(),
        [2, 2, 2, 2, 2]
    );
    assert_eq!(concat_any(&read_all(&dir)), input);
}

fn concat_any(batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(&batches[0].schema(), batches).expect("concat")
}

mod props {
    use super::*;
    use arrow_array::Int64Array;
    use proptest::prelude::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("doc_id", DataType::Utf8, false),
            Field::new("text", DataType::Utf8, true),
            Field::new("tokens", utf8_list_type(), true),
            Field::new("n", DataType::Int64, true),
        ]))
    }

    type Row = (String, Option<String>, Option<Vec<String>>, Option<i64>);

    fn a_row() -> impl Strategy<Value = Row> {
        (
            "[a-z0-9]{0,8}",
            prop::option::of(any::<String>()),
            prop::option::of(prop::collection::vec("[a-z中文]{0,3}", 0..4)),
            prop::option::of(any::<i64>()),
        )
    }

    fn batch_of(rows: &[Row]) -> RecordBatch {
        let mut tokens = ListBuilder::new(StringBuilder::new());
        for (_, _, list, _) in rows {
            match list {
                Some(list) => {
                    for t in list {
                        tokens.values().append_value(t);
                    }
                    tokens.append(true);
                }
                None => tokens.append_null(),
            }
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &r.0))),
            Arc::new(rows.iter().map(|r| r.1.as_deref()).collect::<StringArray>()),
            Arc::new(tokens.finish()),
            Arc::new(rows.iter().map(|r| r.3).collect::<Int64Array>()),
        ];
        RecordBatch::try_new(schema(), columns).expect("batch")
    }

    /// How each batch is written through a [`StageOutput`].
    #[derive(Debug, Clone, Copy)]
    enum Way {
        Stream,
        Parallel,
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Arbitrary batches, cut into arbitrary row groups and part
        /// files, written streamed or encoded on the pool in any mix, read
        /// back as the rows given, in order.
        #[test]
        fn batches_round_trip_across_part_files(
            batches in prop::collection::vec(
                (prop::collection::vec(a_row(), 0..12), prop_oneof![Just(Way::Stream), Just(Way::Parallel)]),
                0..6,
            ),
            row_group_rows in 1usize..8,
            file_rows in 1usize..20,
        ) {
            let tmp = tempfile::tempdir().expect("tempdir");
            let opts = WriteOptions { row_group_rows, file_rows, ..WriteOptions::default() };
            let all: Vec<Row> = batches.iter().flat_map(|(rows, _)| rows.clone()).collect();
            let expected = batch_of(&all);

            // The plain writer.
            let plain = tmp.path().join("plain");
            let mut writer = DatasetWriter::create(&plain, schema(), opts.clone()).expect("create");
            for (rows, _) in &batches {
                writer.write(&batch_of(rows)).expect("write");
            }
            prop_assert_eq!(writer.commit().expect("commit"), all.len() as u64);

            // A stage's output, mixing the ways of writing.
            let staged = tmp.path().join("staged");
            let info = StageInfo::new("props", &serde_json::json!({}), 0);
            let mut out = StageOutput::create(&staged, schema(), info, opts).expect("create");
            out.count_input(all.len() as u64);
            for (rows, way) in &batches {
                match way {
                    Way::Stream => out.write(&batch_of(rows)).expect("write"),
                    Way::Parallel => out.write_parallel(batch_of(rows)).expect("write parallel"),
                }
            }
            out.commit().expect("commit");

            for dir in [&plain, &staged] {
                let dataset = Dataset::open(dir).expect("open");
                prop_assert_eq!(dataset.num_rows(), all.len() as u64);
                prop_assert!(dataset.files().iter().all(|f| f.rows <= file_rows as u64));
                let read = read_all(dir);
                let got = arrow_select::concat::concat_batches(&schema(), &read).expect("concat");
                prop_assert_eq!(&got, &expected);
            }
        }
    }
}

/// Shards read by row ranges (the fast path: whole files and row groups
/// skipped, edge groups read in part) give, one after another, exactly the
/// rows a plain read of the whole dataset gives, for every shard count and
/// batch size, in plain, aligned and projected reads.
#[test]
fn shards_together_read_every_row_once_in_order() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("d");
    let mut w = DatasetWriter::create(&dir, table_schema(), small_files()).expect("create");
    for start in (0..333).step_by(37) {
        w.write(&table_batch(start, 37.min(333 - start)))
            .expect("write");
    }
    w.commit().expect("commit");
    let dataset = Dataset::open(&dir).expect("open");
    assert!(dataset.files().len() >= 3);
    let whole = concat(
        &dataset
            .batches(1000)
            .collect::<Result<Vec<_>, _>>()
            .expect("read"),
    );
    assert_eq!(whole.num_rows(), 333);
    let groups = dataset.row_groups().len();
    for n in [1u32, 2, 3, 4, 5, 9, 40, 400] {
        let mut parts = Vec::new();
        let mut next_row = 0;
        for shard in ore_core::shard::Shard::all(n) {
            let slice = dataset.shard(shard);
            assert_eq!(slice.first_row(), next_row, "shard {shard}");
            next_row += slice.num_rows();
            let grouped: u64 = slice.row_groups().iter().map(|g| g.2).sum();
            assert_eq!(grouped, slice.num_rows());
            let plain = slice
                .batches(7)
                .collect::<Result<Vec<_>, _>>()
                .expect("read");
            let aligned = slice
                .batches(7)
                .aligned_to_row_groups()
                .collect::<Result<Vec<_>, _>>()
                .expect("read aligned");
            assert_eq!(concat(&plain), concat(&aligned), "shard {shard}");
            let ids = slice
                .batches_of(&["doc_id"], 5)
                .expect("project")
                .collect::<Result<Vec<_>, _>>()
                .expect("read ids");
            let ids: usize = ids.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(ids as u64, slice.num_rows());
            // With enough row groups, slices are whole groups: their
            // encoded columns can be copied.
            if groups >= 4 * n as usize {
                for (file, group, _) in slice.row_groups() {
                    let source = slice
                        .row_group_source(file, group, &["doc_id"])
                        .expect("source");
                    assert!(
                        source.copies_columns(),
                        "shard {shard}: group {group} whole"
                    );
                }
            }
            parts.extend(plain);
        }
        assert_eq!(next_row, 333);
        assert_eq!(concat(&parts), whole, "{n} shards");
    }
}
