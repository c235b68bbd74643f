//! Immutable blocks: a directory holding the spans of one flush or compaction as Parquet, sorted
//! by trace id, beside a per-trace summary file and a versioned `meta.json`.
//!
//! Because rows are sorted by trace id, the row groups of a block cover disjoint trace-id ranges:
//! the min/max statistics Parquet keeps per row group act as the trace-id index, so a lookup by id
//! reads one row group per block at most.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::cast::AsArray;
use arrow_array::{Array, BooleanArray, RecordBatch};
use arrow_schema::{DataType, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
    RowFilter,
};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::bloom_filter::Sbbf;
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};

use crate::content_file::{ContentFile, ContentWriter};
use crate::dedup::Encoder;
use crate::error::{Result, StoreError};
use crate::long_values::{self, BatchDecoder};
use crate::schema::{SPAN_FORMAT_VERSION, col, span_schema};
use crate::summary::{self, TraceId, TraceSummary};
use crate::wal::sync_dir;

/// Rows per Parquet row group: the unit a trace lookup decodes.
pub const ROW_GROUP_ROWS: usize = 8192;
const SPANS_FILE: &str = "spans.parquet";
const TRACES_FILE: &str = "traces.parquet";
pub(crate) const META_FILE: &str = "meta.json";

/// What `meta.json` records about a block.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockMeta {
    pub format_version: u32,
    pub id: String,
    pub spans: u64,
    pub traces: u64,
    pub min_start_unix_nano: u64,
    pub max_end_unix_nano: u64,
    /// Bytes of the block's files on disk.
    pub size_bytes: u64,
    /// How many compactions produced it (0 for a flush).
    pub level: u32,
    /// Blocks merged into this one, deleted once it is durable.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The tenant's WAL records in segments below this one are all in this block or an older
    /// one, so replay skips them even if the crash came before `wal.cut` was written.
    #[serde(default)]
    pub wal_cut: u64,
}

/// An open block. Everything a query consults before decoding data (Parquet footer with
/// statistics and offset index, trace-id ranges and bloom filters, the dictionary-string
/// reader schema) is loaded when the block is opened, so the first query of a process pays
/// no more than later ones.
#[derive(Debug)]
pub struct Block {
    pub meta: BlockMeta,
    dir: PathBuf,
    reader_meta: ArrowReaderMetadata,
    /// `reader_meta` with every string column read as a dictionary (see
    /// [`Block::spans_metadata_dictionary`]).
    dictionary_meta: ArrowReaderMetadata,
    /// Min and max trace id per row group.
    ranges: Vec<(TraceId, TraceId)>,
    /// Trace-id bloom filter per row group (`None` in blocks written without them, or where
    /// it cannot be read: the lookup then decodes the row group, as without filters).
    blooms: Vec<Option<Sbbf>>,
    /// The store of long attribute values, in compacted blocks that have any.
    content: Option<Arc<ContentFile>>,
}

/// A unique, time-ordered block id.
pub fn new_block_id() -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:020}-{:06}",
        SEQ.fetch_add(1, Ordering::Relaxed) % 1_000_000
    )
}

fn writer_properties() -> WriterProperties {
    let zstd = Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default());
    let plain = |p: &str| ColumnPath::from(p);
    WriterProperties::builder()
        .set_compression(zstd)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        // Unique per span: a dictionary would only be abandoned half way through each page.
        .set_column_dictionary_enabled(plain("span_id"), false)
        .set_column_dictionary_enabled(plain("start_unix_nano"), false)
        .set_column_encoding(plain("start_unix_nano"), Encoding::DELTA_BINARY_PACKED)
        .set_column_dictionary_enabled(plain("duration_nano"), false)
        .set_column_encoding(plain("duration_nano"), Encoding::DELTA_BINARY_PACKED)
        // Row groups of a block split the trace-id space, so every block has one row group
        // whose range holds any id; its bloom filter (folded to ~10 bits per trace after
        // writing) says whether the trace is really there without decoding the row group.
        .set_column_bloom_filter_enabled(plain("trace_id"), true)
        .set_column_bloom_filter_fpp(plain("trace_id"), 0.01)
        .set_column_bloom_filter_max_ndv(plain("trace_id"), ROW_GROUP_ROWS as u64)
        .build()
}

/// Writes a block from batches that arrive sorted by trace id.
pub struct BlockWriter {
    id: String,
    tmp: PathBuf,
    final_dir: PathBuf,
    spans: ArrowWriter<File>,
    traces: ArrowWriter<File>,
    /// Summaries not yet written; all but the last are complete, since rows arrive sorted.
    summaries: Vec<TraceSummary>,
    meta: BlockMeta,
    /// Compacted blocks move long attribute values into a content store (`crate::dedup`);
    /// flushed ones do not: a compaction merges many of them at once, and each input's store
    /// would have to be held decompressed while it does.
    dedup: Option<Dedup>,
}

struct Dedup {
    enc: Encoder,
    out: Option<ContentWriter>,
}

impl BlockWriter {
    pub fn create(blocks_dir: &Path, level: u32, sources: Vec<String>) -> Result<Self> {
        let id = new_block_id();
        let tmp = blocks_dir.join(format!(".tmp-{id}"));
        fs::create_dir_all(&tmp).map_err(StoreError::io(&tmp))?;
        let path = tmp.join(SPANS_FILE);
        let file = File::create(&path).map_err(StoreError::io(&path))?;
        let spans = ArrowWriter::try_new(file, span_schema(), Some(writer_properties()))?;
        let path = tmp.join(TRACES_FILE);
        let file = File::create(&path).map_err(StoreError::io(&path))?;
        let traces =
            ArrowWriter::try_new(file, summary::summary_schema(), Some(writer_properties()))?;
        Ok(Self {
            final_dir: blocks_dir.join(&id),
            meta: BlockMeta {
                format_version: SPAN_FORMAT_VERSION,
                id: id.clone(),
                spans: 0,
                traces: 0,
                min_start_unix_nano: u64::MAX,
                max_end_unix_nano: 0,
                size_bytes: 0,
                level,
                sources,
                wal_cut: 0,
            },
            id,
            tmp,
            spans,
            traces,
            summaries: Vec::new(),
            dedup: (level > 0).then(|| Dedup {
                enc: Encoder::new(),
                out: None,
            }),
        })
    }

    /// Appends rows that sort after everything written so far.
    pub fn write_sorted(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut acc = std::collections::HashMap::new();
        summary::summarize_into(&mut acc, batch);
        let mut parts: Vec<TraceSummary> = acc.into_values().collect();
        parts.sort_unstable_by_key(|s| s.trace_id);
        for part in parts {
            match self.summaries.last_mut() {
                Some(last) if last.trace_id == part.trace_id => last.merge(&part),
                _ => self.summaries.push(part),
            }
        }
        // Written as they complete, so a compaction of millions of traces does not hold all
        // their summaries (with their model and agent names) until the end.
        if self.summaries.len() > ROW_GROUP_ROWS {
            self.write_summaries(1)?;
        }
        self.meta.spans += batch.num_rows() as u64;
        match self.dedup.as_mut() {
            Some(d) => {
                let encoded = long_values::encode_batch(batch, &mut d.enc)?;
                let stored = d.enc.take_unflushed();
                if !stored.is_empty() {
                    let out = match d.out.as_mut() {
                        Some(out) => out,
                        None => d.out.insert(ContentWriter::create(&self.tmp)?),
                    };
                    out.append(stored)?;
                }
                self.spans.write(&encoded)?;
            }
            None => self.spans.write(batch)?,
        }
        Ok(())
    }

    /// Writes the pending summaries but the last `keep`.
    fn write_summaries(&mut self, keep: usize) -> Result<()> {
        let n = self.summaries.len().saturating_sub(keep);
        if n == 0 {
            return Ok(());
        }
        let done: Vec<TraceSummary> = self.summaries.drain(..n).collect();
        for s in &done {
            self.meta.min_start_unix_nano = self.meta.min_start_unix_nano.min(s.start_unix_nano);
            self.meta.max_end_unix_nano = self.meta.max_end_unix_nano.max(s.end_unix_nano);
        }
        self.meta.traces += done.len() as u64;
        self.traces.write(&summary::to_batch(&done)?)?;
        Ok(())
    }

    /// Records the WAL segment below which the tenant's records are covered (see [`BlockMeta`]).
    pub fn set_wal_cut(&mut self, cut: u64) {
        self.meta.wal_cut = cut;
    }

    /// Gives up on the block, removing what was written.
    pub fn abort(self) -> Result<()> {
        let tmp = self.tmp.clone();
        drop(self);
        fs::remove_dir_all(&tmp).map_err(StoreError::io(&tmp))
    }

    /// Closes the files, makes them durable and moves the block into place.
    pub fn finish(mut self) -> Result<Block> {
        self.write_summaries(0)?;
        self.spans.close()?;
        self.traces.close()?;
        if let Some(out) = self.dedup.take().and_then(|d| d.out) {
            out.finish()?;
        }
        self.meta.size_bytes = dir_size(&self.tmp)?;
        let meta_path = self.tmp.join(META_FILE);
        let json = serde_json::to_vec_pretty(&self.meta).map_err(|e| StoreError::Meta {
            path: meta_path.clone(),
            reason: e.to_string(),
        })?;
        fs::write(&meta_path, json).map_err(StoreError::io(&meta_path))?;
        for name in [SPANS_FILE, TRACES_FILE, META_FILE] {
            let p = self.tmp.join(name);
            File::open(&p)
                .and_then(|f| f.sync_all())
                .map_err(StoreError::io(&p))?;
        }
        sync_dir(&self.tmp)?;
        fs::rename(&self.tmp, &self.final_dir).map_err(StoreError::io(&self.final_dir))?;
        if let Some(parent) = self.final_dir.parent() {
            sync_dir(parent)?;
        }
        tracing::debug!(block = %self.id, spans = self.meta.spans, "block written");
        Block::open(&self.final_dir)
    }
}

/// The reader metadata `meta` with every string column read as a dictionary.
fn dictionary_strings(meta: &ArrowReaderMetadata) -> Result<ArrowReaderMetadata> {
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let fields: Vec<_> = (meta.schema().fields().iter())
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(dict.clone()),
            _ => f.as_ref().clone(),
        })
        .collect();
    let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
    Ok(ArrowReaderMetadata::try_new(
        meta.metadata().clone(),
        options,
    )?)
}

/// The trace-id bloom filter of each row group of the spans file; `None` where the block has
/// none or it cannot be read.
fn read_blooms(file: &File, meta: &ArrowReaderMetadata, block: &str) -> Vec<Option<Sbbf>> {
    let Ok(file) = file.try_clone() else {
        return Vec::new();
    };
    let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone());
    (0..meta.metadata().num_row_groups())
        .map(|rg| {
            (builder.get_row_group_column_bloom_filter(rg, col::TRACE_ID)).unwrap_or_else(|e| {
                tracing::warn!(%block, row_group = rg, error = %e,
                    "unreadable trace-id bloom filter");
                None
            })
        })
        .collect()
}

fn dir_size(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir).map_err(StoreError::io(dir))? {
        let entry = entry.map_err(StoreError::io(dir))?;
        total += entry
            .metadata()
            .map_err(StoreError::io(entry.path()))?
            .len();
    }
    Ok(total)
}

impl Block {
    /// Opens a complete block directory, checking its format version.
    pub fn open(dir: &Path) -> Result<Self> {
        let meta_path = dir.join(META_FILE);
        let raw = fs::read(&meta_path).map_err(StoreError::io(&meta_path))?;
        let meta: BlockMeta = serde_json::from_slice(&raw).map_err(|e| StoreError::Meta {
            path: meta_path.clone(),
            reason: e.to_string(),
        })?;
        if meta.format_version > SPAN_FORMAT_VERSION {
            return Err(StoreError::UnsupportedVersion {
                path: meta_path,
                found: meta.format_version,
                supported: SPAN_FORMAT_VERSION,
            });
        }
        let path = dir.join(SPANS_FILE);
        let file = File::open(&path).map_err(StoreError::io(&path))?;
        // The offset index (page locations) lets a read with a row selection, such as a trace
        // lookup, decode only the pages holding the selected rows instead of whole chunks.
        let options = ArrowReaderOptions::new().with_offset_index_policy(PageIndexPolicy::Optional);
        let reader_meta = ArrowReaderMetadata::load(&file, options)?;
        let ranges = reader_meta
            .metadata()
            .row_groups()
            .iter()
            .map(|rg| {
                let stats = rg.column(col::TRACE_ID).statistics();
                let id = |b: Option<&[u8]>| b.and_then(|b| TraceId::try_from(b).ok());
                let lo = stats.and_then(|s| id(s.min_bytes_opt())).unwrap_or([0; 16]);
                let hi = stats
                    .and_then(|s| id(s.max_bytes_opt()))
                    .unwrap_or([0xff; 16]);
                (lo, hi)
            })
            .collect();
        let dictionary_meta = dictionary_strings(&reader_meta)?;
        let blooms = read_blooms(&file, &reader_meta, &meta.id);
        let content = ContentFile::open(dir)?.map(Arc::new);
        Ok(Self {
            meta,
            dir: dir.to_owned(),
            reader_meta,
            dictionary_meta,
            ranges,
            blooms,
            content,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the block holds spans that overlap `[start, end]` (Unix nanoseconds).
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        self.meta.min_start_unix_nano <= end && self.meta.max_end_unix_nano >= start
    }

    fn spans_builder(&self) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let path = self.dir.join(SPANS_FILE);
        let file = File::open(&path).map_err(StoreError::io(&path))?;
        Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
            file,
            self.reader_meta.clone(),
        ))
    }

    /// Whether row group `rg` may hold `id` by its bloom filter (true without one).
    fn bloom_allows(&self, rg: usize, id: &TraceId) -> bool {
        let bloom = self.blooms.get(rg).and_then(Option::as_ref);
        bloom.is_none_or(|b| b.check(&id[..]))
    }

    /// Number of row groups in the spans file.
    pub fn row_groups(&self) -> usize {
        self.ranges.len()
    }

    /// False when the trace is certainly not in this block (by range and bloom filter).
    pub fn may_hold(&self, trace_id: &TraceId) -> bool {
        self.candidate_groups(trace_id).next().is_some()
    }

    fn candidate_groups<'a>(&'a self, trace_id: &'a TraceId) -> impl Iterator<Item = usize> + 'a {
        self.ranges
            .iter()
            .enumerate()
            .filter(move |(_, (lo, hi))| lo <= trace_id && trace_id <= hi)
            .map(|(i, _)| i)
            .filter(move |&i| self.bloom_allows(i, trace_id))
    }

    /// The spans of one trace in this block, every column.
    pub fn find_trace(&self, trace_id: &TraceId) -> Result<Vec<RecordBatch>> {
        self.find_trace_columns(trace_id, None)
    }

    /// The spans of one trace in this block with only the columns that rebuild OTLP spans
    /// (`rows::rows_to_resource_spans`), not the derived GenAI ones: what a trace lookup needs.
    pub fn find_trace_spans(&self, trace_id: &TraceId) -> Result<Vec<RecordBatch>> {
        self.find_trace_columns(trace_id, Some(0..col::GENAI))
    }

    fn find_trace_columns(
        &self,
        trace_id: &TraceId,
        columns: Option<std::ops::Range<usize>>,
    ) -> Result<Vec<RecordBatch>> {
        let groups: Vec<usize> = self.candidate_groups(trace_id).collect();
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let mut builder = self.spans_builder()?;
        if let Some(columns) = columns {
            let projection = ProjectionMask::roots(builder.parquet_schema(), columns);
            builder = builder.with_projection(projection);
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), [col::TRACE_ID]);
        let wanted = *trace_id;
        let predicate = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
            let ids = batch.column(0).as_fixed_size_binary();
            Ok(BooleanArray::from_iter(
                (0..ids.len()).map(|i| Some(ids.value(i) == wanted)),
            ))
        });
        let reader = builder
            .with_row_groups(groups)
            .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
            .build()?;
        nonempty_batches(reader, &mut self.decoder())
    }

    /// The spans of every trace in `ids` (sorted, deduplicated), in one pass over the row
    /// groups that may hold any of them: many lookups share one open file and the decoding of
    /// each row group instead of paying them per trace. Only the columns that rebuild OTLP
    /// spans are read (`rows::rows_to_resource_spans`), not the derived GenAI ones.
    ///
    /// A row group is read when one of the ids in its trace-id range passes its bloom filter
    /// (1 % false positives); row groups without a filter are settled by their dictionary page.
    pub fn find_traces(&self, ids: &[TraceId]) -> Result<Vec<RecordBatch>> {
        let mut filtered = Vec::new();
        let mut unfiltered = Vec::new();
        for (i, (lo, hi)) in self.ranges.iter().enumerate() {
            let in_range =
                &ids[ids.partition_point(|id| id < lo)..ids.partition_point(|id| id <= hi)];
            match self.blooms.get(i).and_then(Option::as_ref) {
                _ if in_range.is_empty() => {}
                Some(bloom) => {
                    if in_range.iter().any(|id| bloom.check(&id[..])) {
                        filtered.push(i);
                    }
                }
                None => unfiltered.push(i),
            }
        }
        let wanted: Vec<u128> = ids.iter().map(|id| u128::from_be_bytes(*id)).collect();
        let mut groups = self.groups_holding(unfiltered, &wanted)?;
        groups.extend(filtered);
        groups.sort_unstable();
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let builder = self.spans_builder()?;
        let schema = builder.parquet_schema();
        let mask = ProjectionMask::roots(schema, [col::TRACE_ID]);
        let projection = ProjectionMask::roots(schema, 0..col::GENAI);
        let predicate = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
            let col = batch.column(0).as_fixed_size_binary();
            let bits = arrow_buffer::BooleanBuffer::collect_bool(col.len(), |i| {
                let id = <[u8; 16]>::try_from(col.value(i)).map_or(0, u128::from_be_bytes);
                wanted.binary_search(&id).is_ok()
            });
            Ok(BooleanArray::new(bits, None))
        });
        let reader = builder
            .with_projection(projection)
            .with_row_groups(groups)
            .with_row_filter(RowFilter::new(vec![Box::new(predicate)]))
            .build()?;
        nonempty_batches(reader, &mut self.decoder())
    }

    /// The row groups among `groups` whose trace-id dictionary holds one of `wanted` (ids as
    /// big-endian integers, sorted). Ids are random, so the min/max ranges of a block's row
    /// groups nearly always cover an id; the dictionary page (each id once, a tenth of the
    /// rows) settles it without decoding the row group. Row groups without a dictionary are
    /// kept.
    fn groups_holding(&self, groups: Vec<usize>, wanted: &[u128]) -> Result<Vec<usize>> {
        use parquet::column::page::{Page, PageReader};
        if groups.is_empty() {
            return Ok(groups);
        }
        let path = self.dir.join(SPANS_FILE);
        let file = Arc::new(File::open(&path).map_err(StoreError::io(&path))?);
        let meta = self.reader_meta.metadata();
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let rg = meta.row_group(g);
            let rows = usize::try_from(rg.num_rows()).unwrap_or(usize::MAX);
            let chunk = rg.column(col::TRACE_ID);
            let mut pages = parquet::file::serialized_reader::SerializedPageReader::new(
                file.clone(),
                chunk,
                rows,
                None,
            )?;
            let holds = match pages.get_next_page()? {
                Some(Page::DictionaryPage {
                    buf,
                    encoding: Encoding::PLAIN | Encoding::PLAIN_DICTIONARY,
                    ..
                }) => buf.chunks_exact(16).any(|v| {
                    <[u8; 16]>::try_from(v)
                        .is_ok_and(|v| wanted.binary_search(&u128::from_be_bytes(v)).is_ok())
                }),
                _ => true,
            };
            if holds {
                out.push(g);
            }
        }
        Ok(out)
    }

    /// The Arrow reader metadata of the spans file: row-group statistics for pruning, and
    /// the base for readers with another schema (see [`Block::spans_reader`]).
    pub fn spans_metadata(&self) -> &ArrowReaderMetadata {
        &self.reader_meta
    }

    /// [`Block::spans_metadata`] with every string column read as a dictionary
    /// (`Dictionary(Int32, Utf8)`), so that predicates run once per distinct value (model
    /// names, span names, services).
    pub fn spans_metadata_dictionary(&self) -> &ArrowReaderMetadata {
        &self.dictionary_meta
    }

    /// What rebuilds the `attributes` column of the batches a reader of this block yields
    /// (see [`Block::spans_reader`]): long values of compacted blocks are kept apart.
    pub fn decoder(&self) -> BatchDecoder {
        BatchDecoder::new(self.content.as_ref().map(|c| c.reader()))
    }

    /// A reader over the spans file with `meta`, e.g. [`Block::spans_metadata`] re-derived
    /// with a schema that reads strings as dictionaries. Its batches must go through
    /// [`Block::decoder`] when they hold the `attributes` column.
    pub fn spans_reader(
        &self,
        meta: ArrowReaderMetadata,
    ) -> Result<ParquetRecordBatchReaderBuilder<File>> {
        let path = self.dir.join(SPANS_FILE);
        let file = File::open(&path).map_err(StoreError::io(&path))?;
        Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
            file, meta,
        ))
    }

    /// All spans, in trace-id order, in batches of about `ROW_GROUP_ROWS`.
    pub fn scan(&self) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
        self.scan_in(ROW_GROUP_ROWS)
    }

    /// All spans, in trace-id order, in batches of about `rows`.
    pub fn scan_in(
        &self,
        rows: usize,
    ) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
        let reader = self.spans_builder()?.with_batch_size(rows).build()?;
        let mut decoder = self.decoder();
        Ok(reader.map(move |b| decoder.apply(crate::schema::upgrade(b?)?)))
    }

    /// All spans with only the given columns (original schema indices, sorted, deduplicated;
    /// version-1 blocks have no GenAI columns, so those are skipped).
    pub fn scan_columns(
        &self,
        columns: &[usize],
    ) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
        let builder = self.spans_builder()?;
        let present = builder.parquet_schema().root_schema().get_fields().len();
        let wanted = columns.iter().copied().filter(|c| *c < present);
        let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
        let reader = builder
            .with_projection(mask)
            .with_batch_size(ROW_GROUP_ROWS)
            .build()?;
        let mut decoder = self.decoder();
        Ok(reader.map(move |b| decoder.apply(b?)))
    }

    /// Calls `f` for each trace summary of this block.
    pub fn summaries(&self, mut f: impl FnMut(TraceSummary)) -> Result<()> {
        let path = self.dir.join(TRACES_FILE);
        let file = File::open(&path).map_err(StoreError::io(&path))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
            .with_batch_size(ROW_GROUP_ROWS)
            .build()?;
        for batch in reader {
            summary::from_batch(&batch?, &mut f);
        }
        Ok(())
    }

    /// Removes the block's files. The directory is first renamed to a `.tmp-` name, so a
    /// crash midway leaves a leftover that the next start removes, never a block without
    /// its meta.json.
    pub fn delete(&self) -> Result<()> {
        let (Some(parent), Some(name)) = (self.dir.parent(), self.dir.file_name()) else {
            return fs::remove_dir_all(&self.dir).map_err(StoreError::io(&self.dir));
        };
        let doomed = parent.join(format!(".tmp-deleted-{}", name.to_string_lossy()));
        fs::rename(&self.dir, &doomed).map_err(StoreError::io(&self.dir))?;
        crate::wal::sync_dir(parent)?;
        fs::remove_dir_all(&doomed).map_err(StoreError::io(&doomed))
    }
}

/// Writes in-memory batches (in any order) as one block, sorted by trace id and start time.
/// `wal_cut` is the WAL segment below which these batches hold every record (0 if none).
pub fn write_batches(
    blocks_dir: &Path,
    batches: &[Arc<RecordBatch>],
    wal_cut: u64,
) -> Result<Block> {
    let mut keys: Vec<(TraceId, u64, usize, usize)> = Vec::new();
    for (b, batch) in batches.iter().enumerate() {
        let ids = batch.column(col::TRACE_ID).as_fixed_size_binary();
        let start = batch
            .column(col::START)
            .as_primitive::<arrow_array::types::UInt64Type>();
        for row in 0..batch.num_rows() {
            let id = TraceId::try_from(ids.value(row)).unwrap_or_default();
            keys.push((id, start.value(row), b, row));
        }
    }
    keys.sort_unstable();
    let refs: Vec<&RecordBatch> = batches.iter().map(|b| b.as_ref()).collect();
    let mut writer = BlockWriter::create(blocks_dir, 0, Vec::new())?;
    writer.set_wal_cut(wal_cut);
    let mut indices = Vec::with_capacity(ROW_GROUP_ROWS);
    for chunk in keys.chunks(ROW_GROUP_ROWS) {
        indices.clear();
        indices.extend(chunk.iter().map(|k| (k.2, k.3)));
        let sorted = arrow_select::interleave::interleave_record_batch(&refs, &indices)?;
        writer.write_sorted(&sorted)?;
    }
    writer.finish()
}

/// The batches a filtered read yields, without the empty ones a row filter leaves.
fn nonempty_batches(
    reader: impl Iterator<Item = std::result::Result<RecordBatch, arrow_schema::ArrowError>>,
    decoder: &mut BatchDecoder,
) -> Result<Vec<RecordBatch>> {
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch?;
        if batch.num_rows() > 0 {
            out.push(decoder.apply(batch)?);
        }
    }
    Ok(out)
}
