//! The stage: read a dataset with a text column, append the token columns,
//! write the `tokens` dataset with its `_vocab/`, `_rejects/` and manifest.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{Field, Schema, SchemaRef};
use ore_core::schema::tokens as col;
use ore_core::shard::{ROWS_STEP, Shard, ShardCommit, ShardSet};
use ore_core::{
    Dataset, InOrder, Manifest, Progress, RowGroupSource, StageInfo, StageOutput, StrColumn,
    WriteOptions,
};

use crate::columns::{RowTokens, TokenColumns, TokenRow, token_fields};
use crate::config::TokenizeConfig;
use crate::entities::EntityTagger;
use crate::error::{Result, TokenizeError};
use crate::segment::Segmenter;
use crate::vocab::{VOCAB_DIR, VocabCounter, vocab_batch};

/// Reason recorded for rows without text.
pub const NULL_TEXT: &str = "null_text";

/// A ready-to-run tokenizer: segmenter, entity tagger and config.
#[derive(Debug)]
pub struct Tokenizer {
    config: TokenizeConfig,
    segmenter: Segmenter,
    tagger: Option<EntityTagger>,
}

impl Tokenizer {
    /// Validates the config and loads dictionaries, stop words and gazetteers.
    pub fn build(config: &TokenizeConfig) -> Result<Self> {
        if config.batch_rows == 0 {
            return Err(TokenizeError::Config(
                "batch_rows must be at least 1".into(),
            ));
        }
        let mut segmenter = Segmenter::build(config)?;
        let tagger = if config.entities {
            Some(EntityTagger::build(config, &mut segmenter)?)
        } else {
            None
        };
        Ok(Self {
            config: config.clone(),
            segmenter,
            tagger,
        })
    }

    pub fn segmenter(&self) -> &Segmenter {
        &self.segmenter
    }

    /// Tokenizes and annotates rows `rows` of `batch` (whose texts are all
    /// present) into their token columns; one job of the stage's pipeline.
    fn annotate_chunk(
        &self,
        batch: &RecordBatch,
        with_title: bool,
        input: &Path,
        rows: Range<usize>,
    ) -> Result<Chunk> {
        let texts = StrColumn::of(batch, &self.config.text_column, input)?;
        let titles = if with_title {
            Some(StrColumn::of(batch, &self.config.title_column, input)?)
        } else {
            None
        };
        Ok(self.annotate_rows(&texts, titles.as_ref(), rows))
    }

    /// Tokenizes and annotates rows `rows` of a batch (whose texts are all
    /// present) into their token columns.
    fn annotate_rows(
        &self,
        texts: &StrColumn<'_>,
        titles: Option<&StrColumn<'_>>,
        rows: Range<usize>,
    ) -> Chunk {
        let mut columns = TokenColumns::new(titles.is_some());
        let mut vocab = self.config.vocab.enabled.then(VocabCounter::default);
        let (mut row, mut title_row) = (RowTokens::default(), RowTokens::default());
        let (mut tokens, mut chars) = (0u64, 0u64);
        for i in rows {
            row.clear();
            self.segmenter
                .segment_into(texts.get(i).unwrap_or_default(), &mut row);
            let mut entities = Vec::new();
            if self.tagger.is_some() || vocab.is_some() {
                let words: Vec<&str> = row.tokens().collect();
                if let Some(tagger) = &self.tagger {
                    let pos: Vec<&str> = row.pos().collect();
                    entities = tagger.tag(&words, &pos);
                }
                if let Some(vocab) = &mut vocab {
                    vocab.add_document(&words);
                }
            }
            columns.push_row(&row, self.config.pos, &entities);
            match titles.and_then(|t| t.get(i)) {
                Some(title) => {
                    title_row.clear();
                    self.segmenter.segment_into(title, &mut title_row);
                    columns.push_title(Some(title_row.tokens()));
                }
                None => columns.push_title(None::<std::iter::Empty<&str>>),
            }
            tokens += row.len() as u64;
            chars += u64::from(row.ends().last().copied().unwrap_or(0));
        }
        Chunk {
            columns: columns.finish(),
            vocab,
            tokens,
            chars,
        }
    }

    /// Tokenizes and annotates one text (and its title).
    pub fn annotate(&self, text: &str, title: Option<&str>) -> TokenRow {
        let segmented = self.segmenter.segment(text);
        let entities = match &self.tagger {
            Some(tagger) => tagger.tag(&segmented.tokens, &segmented.pos),
            None => Vec::new(),
        };
        TokenRow {
            has_pos: self.config.pos,
            entities,
            title: title.map(|t| self.segmenter.segment(t).tokens),
            text: segmented,
        }
    }

    /// Builds the tokenizer for `config` and runs the stage from `input` to
    /// `output`. Loading the dictionaries (about 0.1 s for jieba's) happens
    /// on a thread of its own while the input is opened, checked and read
    /// ahead, so a bad input is reported at once and the first batches are
    /// decoded by the time the segmenter is ready.
    pub fn build_and_run(
        config: &TokenizeConfig,
        input: &Path,
        output: &Path,
        seed: u64,
        opts: WriteOptions,
    ) -> Result<Manifest> {
        Self::build_and_run_shard(config, input, output, None, seed, opts)
    }

    /// [`Tokenizer::build_and_run`] on shard `shard` of the input, into the
    /// output's shard area ([`ore_core::shard`]), with the vocabulary's
    /// counts kept whole for [`commit_shards`] to add up and cut.
    pub fn build_and_run_shard(
        config: &TokenizeConfig,
        input: &Path,
        output: &Path,
        shard: Option<Shard>,
        seed: u64,
        opts: WriteOptions,
    ) -> Result<Manifest> {
        std::thread::scope(|scope| {
            let mut building = Some(scope.spawn(|| Tokenizer::build(config)));
            let built = std::sync::OnceLock::new();
            let tokenizer = || -> Result<&Tokenizer> {
                if let Some(handle) = building.take() {
                    let tokenizer = handle.join().unwrap_or_else(|_| {
                        Err(TokenizeError::Config(
                            "loading the dictionaries panicked".into(),
                        ))
                    })?;
                    // Only this closure sets it, once.
                    let _ = built.set(tokenizer);
                }
                built
                    .get()
                    .ok_or_else(|| TokenizeError::Config("the dictionaries failed to load".into()))
            };
            run_stage(config, tokenizer, input, output, shard, seed, opts)
        })
    }
}

/// The tokenize stage of the Stage contract. [`ore_core::Stage::build`]
/// checks the config and that every file it names can be read; the
/// dictionaries load when the stage runs, on a thread of their own while
/// the input is opened and read ahead (see [`Tokenizer::build_and_run`]).
#[derive(Debug, Clone)]
pub struct TokenizeStage {
    config: TokenizeConfig,
}

impl ore_core::StageDef for TokenizeStage {
    const KIND: &'static str = "tokenize";
    const INPUTS: &'static [ore_core::InputSpec] = &[ore_core::InputSpec::dataset(&["clean"])];
    const SEEDED: bool = false;
    type Config = TokenizeConfig;
}

impl ore_core::Stage for TokenizeStage {
    type Error = TokenizeError;

    fn build(config: TokenizeConfig) -> Result<Self> {
        if config.batch_rows == 0 {
            return Err(TokenizeError::Config(
                "batch_rows must be at least 1".into(),
            ));
        }
        let files = config
            .user_dicts
            .iter()
            .chain(&config.stop_word_files)
            .chain(config.gazetteers.iter().flat_map(|g| &g.files));
        for file in files {
            std::fs::metadata(file).map_err(|e| TokenizeError::io(file, e))?;
        }
        Ok(Self { config })
    }

    fn run(&self, ctx: &ore_core::StageContext) -> Result<Manifest> {
        Tokenizer::build_and_run_shard(
            &self.config,
            ctx.input("input")?,
            &ctx.output,
            ctx.shard,
            ctx.seed,
            ctx.write.clone(),
        )
    }

    fn shard_steps(&self) -> Option<Vec<&'static str>> {
        Some(vec![ROWS_STEP])
    }
}

/// The output of a sharded tokenize run: the shards' rows and rejects in
/// order, and one vocabulary of their added-up counts, cut as configured.
pub fn commit_shards(set: ShardSet) -> Result<Manifest> {
    let config: TokenizeConfig = serde_json::from_value(set.manifest().config.clone())
        .map_err(|e| TokenizeError::Config(format!("the shards' config does not parse: {e}")))?;
    let mut commit = ShardCommit::begin(set)?;
    commit.concat(&[VOCAB_DIR])?;
    // Tokens and characters add up; the vocabulary's size is set below.
    commit.merge_summaries(&[]);
    if config.vocab.enabled {
        let mut counter = VocabCounter::default();
        for index in 0..commit.set().count() as usize {
            for file in commit.set().files(index, VOCAB_DIR) {
                counter.add_counts(&Dataset::open(&file)?)?;
            }
        }
        let entries = counter.finish(&config.vocab);
        commit.set_summary("vocab_size", serde_json::json!(entries.len()));
        commit.write_side(VOCAB_DIR, &vocab_batch(&entries)?)?;
    }
    Ok(commit.finish()?)
}

/// Batches read ahead of segmentation: enough to keep the reader busy while
/// the dictionaries load (a few megabytes of text at the default batch size).
const READ_AHEAD: usize = 8;

/// The largest input row group (uncompressed, by its footer) whose kept
/// columns are copied: the new columns of a copied group are held, encoded,
/// until the group ends, so a larger one is encoded in ore-sized groups.
const COPY_GROUP_BYTES: u64 = 256 << 20;

/// Rows of a batch, segmented, as the stage hands them to its output in
/// input order, with the input row group they come from when the kept
/// columns are copied group by group (`copy_columns`).
struct Piece {
    batch: RecordBatch,
    rows: Range<usize>,
    chunk: Result<Chunk>,
    source: Option<RowGroupSource>,
}

/// The reader gave a batch across the input's row groups, which
/// [`ore_core::dataset::Batches::aligned_to_row_groups`] rules out.
fn misaligned(input: &Path) -> TokenizeError {
    TokenizeError::Input {
        path: input.to_path_buf(),
        message: "a batch of rows straddles the input's row groups".into(),
    }
}

/// The stage, with the tokenizer asked for when the first batch is ready.
fn run_stage<'t>(
    config: &TokenizeConfig,
    mut tokenizer: impl FnMut() -> Result<&'t Tokenizer>,
    input: &Path,
    output: &Path,
    shard: Option<Shard>,
    seed: u64,
    opts: WriteOptions,
) -> Result<Manifest> {
    let mut dataset = Dataset::open(input)?;
    let mut target = output.to_path_buf();
    if let Some(shard) = shard {
        dataset = dataset.shard(shard);
        target = ore_core::shard::shard_dir(output, ROWS_STEP, shard);
    }
    let layout = Layout::of(config, dataset.schema(), input)?;
    let info = StageInfo::new("tokenize", config, seed).with_shard(shard);
    let mut out = StageOutput::create(&target, layout.schema.clone(), info, opts)?;
    out.add_input(&dataset)?;
    let mut totals = Totals::default();
    segment_dataset(
        config,
        &mut tokenizer,
        &dataset,
        input,
        &layout,
        &mut out,
        &mut totals,
    )?;
    // An input without batches still checks the dictionaries.
    tokenizer()?;

    if config.vocab.enabled {
        let entries = match shard {
            // Every count, for the commit to add up before it cuts.
            Some(_) => totals.vocab.finish(&crate::config::VocabConfig {
                enabled: true,
                min_count: 1,
                max_size: 0,
            }),
            None => totals.vocab.finish(&config.vocab),
        };
        out.set_summary("vocab_size", serde_json::json!(entries.len()));
        out.write_side(VOCAB_DIR, &vocab_batch(&entries)?)?;
    }
    out.set_summary("tokens", serde_json::json!(totals.tokens));
    out.set_summary("chars_tokenized", serde_json::json!(totals.chars));
    Ok(out.commit()?)
}

/// The columns of the stage's output: the input's, less those this stage
/// writes (so rerunning on its own output works), then the token columns.
struct Layout {
    schema: SchemaRef,
    /// Names of the input columns kept; they come first in `schema`.
    kept: Vec<String>,
    with_title: bool,
}

impl Layout {
    fn of(config: &TokenizeConfig, schema: &Schema, input: &Path) -> Result<Self> {
        let bad_input = |message: String| TokenizeError::Input {
            path: input.to_path_buf(),
            message,
        };
        let text_field = schema.field_with_name(&config.text_column).map_err(|_| {
            bad_input(format!(
                "no `{}` column to tokenize (columns: {}); set tokenize.text_column",
                config.text_column,
                schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if !matches!(
            text_field.data_type(),
            arrow_schema::DataType::Utf8
                | arrow_schema::DataType::LargeUtf8
                | arrow_schema::DataType::Utf8View
        ) {
            return Err(bad_input(format!(
                "column `{}` is {}, not text",
                config.text_column,
                text_field.data_type()
            )));
        }
        let with_title = schema.field_with_name(&config.title_column).is_ok();
        let kept: Vec<&Field> = schema
            .fields()
            .iter()
            .map(AsRef::as_ref)
            .filter(|f| !col::ALL.contains(&f.name().as_str()))
            .collect();
        let mut fields: Vec<Field> = kept.iter().map(|&f| ore_core::schema::adopt(f)).collect();
        fields.extend(token_fields(with_title));
        Ok(Self {
            schema: Arc::new(Schema::new(fields)),
            kept: kept.iter().map(|f| f.name().clone()).collect(),
            with_title,
        })
    }

    fn kept_names(&self) -> Vec<&str> {
        self.kept.iter().map(String::as_str).collect()
    }
}

/// What the stage adds up over its rows, for the manifest and `_vocab/`.
#[derive(Default)]
struct Totals {
    vocab: VocabCounter,
    tokens: u64,
    chars: u64,
}

impl Totals {
    /// Writes a segmented piece: the rows' kept columns and their tokens.
    fn write(
        &mut self,
        out: &mut StageOutput,
        layout: &Layout,
        progress: &Progress,
        piece: Piece,
    ) -> Result<()> {
        let chunk = piece.chunk?;
        let rows = piece.rows;
        let mut columns = piece.batch.slice(rows.start, rows.len()).columns().to_vec();
        columns.extend(chunk.columns);
        let batch = RecordBatch::try_new(layout.schema.clone(), columns)?;
        match &piece.source {
            Some(source) => out.write_from(&batch, source)?,
            None => out.write(&batch)?,
        }
        if let Some(partial) = chunk.vocab {
            self.vocab.merge(partial);
        }
        self.tokens += chunk.tokens;
        self.chars += chunk.chars;
        progress.inc(rows.len() as u64);
        Ok(())
    }
}

/// With `copy_columns`, which input row group each batch comes from. Each
/// becomes one output row group, which copies the kept columns where the
/// group's text has no nulls (no row is dropped) and the group is at most
/// [`COPY_GROUP_BYTES`]; other groups are encoded. The batches are read so
/// that none straddles two input groups.
struct GroupCursor<'d> {
    dataset: &'d Dataset,
    groups: std::vec::IntoIter<(usize, usize, u64)>,
    /// Rows of the current group not yet read, and the group.
    left: u64,
    source: Option<RowGroupSource>,
}

impl<'d> GroupCursor<'d> {
    fn new(dataset: &'d Dataset) -> Self {
        let groups: Vec<_> = dataset
            .row_groups()
            .into_iter()
            .filter(|&(_, _, rows)| rows > 0)
            .collect();
        Self {
            dataset,
            groups: groups.into_iter(),
            left: 0,
            source: None,
        }
    }

    /// The source of the next batch, of `rows` rows.
    fn next(
        &mut self,
        rows: u64,
        config: &TokenizeConfig,
        layout: &Layout,
        input: &Path,
    ) -> Result<RowGroupSource> {
        if self.left == 0 {
            let (file, group, group_rows) = self.groups.next().ok_or_else(|| misaligned(input))?;
            let copying = self.dataset.null_count(file, group, &config.text_column) == Some(0)
                && self
                    .dataset
                    .row_group_bytes(file, group)
                    .is_some_and(|bytes| bytes <= COPY_GROUP_BYTES);
            let copy = if copying {
                layout.kept_names()
            } else {
                Vec::new()
            };
            self.source = Some(self.dataset.row_group_source(file, group, &copy)?);
            self.left = group_rows;
        }
        self.left = self
            .left
            .checked_sub(rows)
            .ok_or_else(|| misaligned(input))?;
        self.source.clone().ok_or_else(|| misaligned(input))
    }
}

/// Reads, segments and writes every row of `dataset`.
///
/// Reading (decompressing, validating UTF-8) runs ahead on its own thread.
/// Each batch is cut into chunks that the pool segments while this thread
/// reads the next batch and writes finished chunks in order: no thread
/// waits for a batch's last chunk before starting the next.
fn segment_dataset<'t>(
    config: &TokenizeConfig,
    tokenizer: &mut impl FnMut() -> Result<&'t Tokenizer>,
    dataset: &Dataset,
    input: &Path,
    layout: &Layout,
    out: &mut StageOutput,
    totals: &mut Totals,
) -> Result<()> {
    let progress = Progress::new(Some(dataset.num_rows()), "rows");
    progress.set_message("tokenize");
    let max_queued = 2 * chunks_per_batch() as u64;
    let mut order: InOrder<Piece> = InOrder::default();
    // Columns this stage replaces are not even decoded.
    let mut batches = dataset
        .batches_of(&layout.kept_names(), config.batch_rows)?
        .read_ahead(READ_AHEAD);
    let mut groups = config.copy_columns.then(|| GroupCursor::new(dataset));
    if groups.is_some() {
        batches = batches.aligned_to_row_groups();
    }
    let with_title = layout.with_title;
    rayon::in_place_scope(|scope| -> Result<()> {
        batches.for_each_prefetched(|batch| -> Result<()> {
            let n = batch.num_rows();
            let first_row = out.counts().input;
            let source = match &mut groups {
                Some(groups) => Some(groups.next(n as u64, config, layout, input)?),
                None => None,
            };
            out.count_input(n as u64);
            let batch = reject_null_texts(config, input, batch, out, &progress)?;
            let tokenizer = tokenizer()?;
            for rows in chunk_ranges(batch.num_rows()) {
                let (batch, source, ticket) = (batch.clone(), source.clone(), order.submit());
                scope.spawn(move |_| {
                    let chunk = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        tokenizer.annotate_chunk(&batch, with_title, input, rows.clone())
                    }))
                    .unwrap_or_else(|_| {
                        Err(TokenizeError::Input {
                            path: input.to_path_buf(),
                            message: format!(
                                "segmenting input rows {first_row}..{} panicked",
                                first_row + n as u64
                            ),
                        })
                    });
                    ticket.send(Piece {
                        batch,
                        rows,
                        chunk,
                        source,
                    });
                });
            }
            // Write what is done; wait only while two batches are queued.
            while let Some(piece) = order.next(order.pending() > max_queued) {
                totals.write(out, layout, &progress, piece)?;
            }
            Ok(())
        })?;
        while let Some(piece) = order.next(true) {
            totals.write(out, layout, &progress, piece)?;
        }
        Ok(())
    })?;
    progress.finish();
    Ok(())
}

/// Rejects the rows of `batch` without text (`null_text`); the others.
fn reject_null_texts(
    config: &TokenizeConfig,
    input: &Path,
    batch: RecordBatch,
    out: &mut StageOutput,
    progress: &Progress,
) -> Result<RecordBatch> {
    let n = batch.num_rows();
    let texts = StrColumn::of(&batch, &config.text_column, input)?;
    let has_text: BooleanArray = (0..n).map(|i| Some(texts.get(i).is_some())).collect();
    if has_text.true_count() == n {
        return Ok(batch);
    }
    let no_text: BooleanArray = (0..n).map(|i| Some(texts.get(i).is_none())).collect();
    let missing = arrow_select::filter::filter_record_batch(&batch, &no_text)?;
    out.reject_all(
        &missing,
        NULL_TEXT,
        Some(&format!("`{}` is null", config.text_column)),
    )?;
    progress.inc(missing.num_rows() as u64);
    Ok(arrow_select::filter::filter_record_batch(
        &batch, &has_text,
    )?)
}

/// The token columns of a run of rows, with what the manifest and the
/// vocabulary need from them.
struct Chunk {
    columns: Vec<ArrayRef>,
    vocab: Option<VocabCounter>,
    tokens: u64,
    chars: u64,
}

/// Chunks a batch is cut into: a few per thread, so that a run of long
/// texts does not hold up the others and the writer gets rows early.
fn chunks_per_batch() -> usize {
    4 * rayon::current_num_threads()
}

/// Rows `0..n` cut into [`chunks_per_batch`] chunks. The output is the same
/// whatever the cut.
fn chunk_ranges(n: usize) -> Vec<Range<usize>> {
    let size = n.div_ceil(chunks_per_batch()).max(1);
    // An empty batch still makes one (empty) chunk, so it is written.
    (0..n.max(1))
        .step_by(size)
        .map(|s| s..(s + size).min(n))
        .collect()
}
