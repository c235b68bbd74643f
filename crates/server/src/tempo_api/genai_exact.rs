//! When a canonical GenAI column answers `span.gen_ai.*` exactly as TraceQL does, row by row.
//!
//! TraceQL reads a span's own attribute first and asks the normalizer (`fallback.rs`) only when
//! the span has none. The store's column holds what the normalizer derived at ingest, and the
//! normalizer takes the OTel key first (rank 0, `sextant_genai::rules`), so for the fields
//! below the column is exact on a row when:
//!
//! - the span carries the canonical key once, as a string equal to the column (a non-string,
//!   a second copy, or a spelling the normalizer changes, e.g. `Chat` → `chat`, is not); or
//! - it does not carry it, and nothing makes ingest and the fallback differ: a scope-bound
//!   name rule (`openlit`'s `function.args`; ingest knows the scope, the fallback does not) or
//!   a null column next to a key the normalizer reads (a store written without enrichment).
//!
//! Only fields no resource attribute or event fills qualify: the operation, the request model
//! and the tool name.

use std::collections::HashMap;
use std::sync::LazyLock;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, BinaryArray, RecordBatch};
use sextant_genai::content::DROPPED_KEYS_ATTR;
use sextant_genai::rules::{Field, NAME_RULES, RULES};
use sextant_store::genai::off;
use sextant_store::schema::col;
use sextant_store::search::ColumnIndex;

/// The fields checked here: canonical key, column, normalizer field.
const FIELDS: [(&str, usize, Field); 3] = [
    (
        "gen_ai.operation.name",
        col::GENAI + off::OPERATION,
        Field::Operation,
    ),
    (
        "gen_ai.request.model",
        col::GENAI + off::REQUEST_MODEL,
        Field::RequestModel,
    ),
    (
        "gen_ai.tool.name",
        col::GENAI + off::TOOL_NAME,
        Field::ToolName,
    ),
];

/// The column answering `span.<name>` when rows are checked with [`RowCheck`].
pub fn column(name: &str) -> Option<usize> {
    FIELDS.iter().find(|f| f.0 == name).map(|f| f.1)
}

/// What an attribute key means for the checked fields (bit `i` = `FIELDS[i]`).
#[derive(Debug, Clone, Copy, Default)]
struct Role {
    /// The canonical key itself.
    own: u8,
    /// Any key the normalizer reads for the field.
    source: u8,
    /// A key of a scope-bound name rule, sent or listed as dropped by the content policy.
    scoped: u8,
}

static ROLES: LazyLock<HashMap<&'static [u8], Role>> = LazyLock::new(|| {
    let mut m: HashMap<&'static [u8], Role> = HashMap::new();
    for (i, (key, _, field)) in FIELDS.iter().enumerate() {
        let bit = 1 << i;
        m.entry(key.as_bytes()).or_default().own |= bit;
        for r in RULES.iter().filter(|r| r.field == *field) {
            m.entry(r.key.as_bytes()).or_default().source |= bit;
        }
        let by_name = NAME_RULES
            .iter()
            .filter(|r| r.field == *field || (*field == Field::Operation && r.implies.is_some()));
        for r in by_name {
            let role = m.entry(r.key.as_bytes()).or_default();
            role.source |= bit;
            if r.scope.is_some() {
                role.scoped |= bit;
            }
        }
    }
    m
});

/// Every checked field's bit.
const ALL: u8 = (1 << FIELDS.len()) - 1;

/// Checks the rows of one batch for a set of fields.
pub struct RowCheck<'a> {
    /// Index into `FIELDS` and the batch's column, per checked field.
    fields: Vec<(usize, ColumnValues<'a>)>,
    attributes: &'a BinaryArray,
}

enum ColumnValues<'a> {
    Dict(&'a arrow_array::DictionaryArray<Int32Type>),
    Str(&'a arrow_array::StringArray),
}

impl ColumnValues<'_> {
    fn get(&self, row: usize) -> Option<&str> {
        match self {
            ColumnValues::Dict(d) if d.is_valid(row) => {
                let k = usize::try_from(d.keys().value(row)).ok()?;
                let v = d.values().as_string_opt::<i32>()?;
                (k < v.len() && v.is_valid(k)).then(|| v.value(k))
            }
            ColumnValues::Str(s) if s.is_valid(row) => Some(s.value(row)),
            _ => None,
        }
    }
}

impl<'a> RowCheck<'a> {
    /// The check of `columns` (those [`column`] returned) on `batch`; `None` when the batch
    /// lacks a column it needs (then no row can be vouched for).
    pub fn new(batch: &'a RecordBatch, idx: &ColumnIndex, columns: &[usize]) -> Option<Self> {
        let attributes = batch.column(idx.index(col::ATTRIBUTES)?).as_binary_opt()?;
        let fields = columns
            .iter()
            .map(|c| {
                let i = FIELDS.iter().position(|f| f.1 == *c)?;
                let a = batch.column(idx.index(*c)?);
                let v = match a.as_dictionary_opt::<Int32Type>() {
                    Some(d) => ColumnValues::Dict(d),
                    None => ColumnValues::Str(a.as_string_opt::<i32>()?),
                };
                Some((i, v))
            })
            .collect::<Option<_>>()?;
        Some(Self { fields, attributes })
    }

    /// Whether every checked column answers `row` as TraceQL would.
    pub fn exact(&self, row: usize) -> bool {
        let blob = if self.attributes.is_valid(row) {
            self.attributes.value(row)
        } else {
            &[]
        };
        let Some(facts) = Facts::of(blob) else {
            return false;
        };
        self.fields.iter().all(|(i, v)| facts.exact(*i, v.get(row)))
    }
}

/// What a span's attributes say about the checked fields.
#[derive(Debug, Default)]
struct Facts<'b> {
    own: [Own<'b>; FIELDS.len()],
    source: u8,
    scoped: u8,
}

#[derive(Debug, Default, Clone, Copy)]
enum Own<'b> {
    #[default]
    Absent,
    Str(&'b [u8]),
    /// Not a string, or sent more than once.
    Other,
}

impl<'b> Facts<'b> {
    /// Reads the attributes blob (an OTLP `Span` with only attributes); `None` if malformed.
    fn of(blob: &'b [u8]) -> Option<Self> {
        let mut facts = Facts::default();
        for (key, raw) in wire::attributes(blob) {
            let key = key?;
            if key == DROPPED_KEYS_ATTR.as_bytes() {
                facts.scoped |= dropped_scoped(raw);
                continue;
            }
            let Some(role) = ROLES.get(key) else {
                continue;
            };
            let value = raw.and_then(wire::string);
            facts.source |= role.source;
            facts.scoped |= role.scoped;
            for (i, own) in facts.own.iter_mut().enumerate() {
                if role.own & (1 << i) != 0 {
                    *own = match (*own, value) {
                        (Own::Absent, Some(s)) => Own::Str(s),
                        _ => Own::Other,
                    };
                }
            }
        }
        Some(facts)
    }
}

/// Bits of the fields a scope-bound name rule may fill at ingest because the content policy
/// dropped its key (openlit's `function.args`); all of them when the list is unreadable.
fn dropped_scoped(raw: Option<&[u8]>) -> u8 {
    let Some(listed) = raw.and_then(wire::strings) else {
        return ALL;
    };
    let mut bits = 0;
    for key in listed {
        match key {
            Some(k) => bits |= ROLES.get(k).map_or(0, |r| r.scoped),
            None => return ALL,
        }
    }
    bits
}

impl Facts<'_> {
    fn exact(&self, i: usize, column: Option<&str>) -> bool {
        let bit = 1 << i;
        match self.own[i] {
            Own::Str(s) => column.is_some_and(|c| c.as_bytes() == s),
            Own::Other => false,
            Own::Absent => self.scoped & bit == 0 && (column.is_some() || self.source & bit == 0),
        }
    }
}

mod wire {
    //! Just enough protobuf to list a span's attribute keys and string values.

    use prost::encoding::decode_varint;

    /// Top-level field of `Span` holding the attributes, and the `KeyValue`/`AnyValue` fields.
    const SPAN_ATTRIBUTES: u64 = 9;
    const KV_KEY: u64 = 1;
    const KV_VALUE: u64 = 2;
    const ANY_STRING: u64 = 1;
    const ANY_ARRAY: u64 = 5;
    const ARRAY_VALUES: u64 = 1;

    /// One length-delimited field or scalar of a message: `(field number, bytes if LEN)`.
    fn fields(mut buf: &[u8]) -> impl Iterator<Item = Option<(u64, Option<&[u8]>)>> {
        std::iter::from_fn(move || {
            if buf.is_empty() {
                return None;
            }
            Some(next(&mut buf).or_else(|| {
                buf = &[];
                None
            }))
        })
    }

    fn next<'b>(buf: &mut &'b [u8]) -> Option<(u64, Option<&'b [u8]>)> {
        let tag = decode_varint(buf).ok()?;
        let skip = match tag & 7 {
            0 => {
                decode_varint(buf).ok()?;
                return Some((tag >> 3, None));
            }
            1 => 8,
            5 => 4,
            2 => {
                let len = usize::try_from(decode_varint(buf).ok()?).ok()?;
                let (v, rest) = buf.split_at_checked(len)?;
                *buf = rest;
                return Some((tag >> 3, Some(v)));
            }
            _ => return None,
        };
        *buf = buf.get(skip..)?;
        Some((tag >> 3, None))
    }

    /// `(key, value)` per attribute, the value as its encoded `AnyValue`; a key of `None` when
    /// the blob is malformed.
    pub(super) fn attributes(blob: &[u8]) -> impl Iterator<Item = (Option<&[u8]>, Option<&[u8]>)> {
        fields(blob).filter_map(|f| match f {
            None => Some((None, None)),
            Some((SPAN_ATTRIBUTES, Some(kv))) => Some(key_value(kv)),
            Some(_) => None,
        })
    }

    fn key_value(kv: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
        let (mut key, mut value) = (None, None);
        for f in fields(kv) {
            match f {
                None => return (None, None),
                Some((KV_KEY, Some(k))) => key = Some(k),
                Some((KV_VALUE, Some(v))) => value = Some(v),
                Some(_) => {}
            }
        }
        (key, value)
    }

    /// The elements of an `AnyValue` holding an array, each `None` unless it is a string;
    /// `None` when the value is not an array (or is malformed).
    pub(super) fn strings(any: &[u8]) -> Option<impl Iterator<Item = Option<&[u8]>>> {
        let mut array = None;
        for f in fields(any) {
            match f? {
                (ANY_ARRAY, Some(v)) => array = Some(v),
                _ => return None,
            }
        }
        Some(fields(array?).map(|f| match f? {
            (ARRAY_VALUES, Some(v)) => string(v),
            _ => None,
        }))
    }

    /// The string an encoded `AnyValue` holds, if it holds one.
    pub(super) fn string(any: &[u8]) -> Option<&[u8]> {
        let mut s = None;
        for f in fields(any) {
            match f? {
                (ANY_STRING, Some(v)) => s = Some(v),
                _ => return None,
            }
        }
        s
    }
}

#[cfg(test)]
mod tests;
