//! Trace listings, newest first, that read only the newest blocks they need.
//!
//! Blocks are read in order of their newest span. Once `limit` matching traces start after the
//! newest span of every block not yet read, those blocks cannot change which traces are listed
//! (a trace starts at its earliest span). A listed trace can still have spans there when its
//! earlier spans arrived long before the rest; the trace-id bloom filters find those parts, and
//! if completing a trace moves it out of the listing, the remaining blocks are read after all.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Arc;

use crate::block::Block;
use crate::error::Result;
use crate::read::TraceQuery;
use crate::store::Store;
use crate::summary::{TraceId, TraceSummary, summarize_into};
use crate::tenant::validate_tenant;

impl Store {
    /// Trace summaries matching `q`, newest first.
    pub fn list_traces(&self, tenant: &str, q: &TraceQuery) -> Result<Vec<TraceSummary>> {
        validate_tenant(tenant)?;
        let snap = self.snapshot(tenant);
        let mut acc: HashMap<TraceId, TraceSummary> = HashMap::new();
        for batch in &snap.head {
            summarize_into(&mut acc, batch);
        }
        let mut blocks: Vec<&Arc<Block>> = (snap.blocks.iter())
            .filter(|b| b.overlaps(q.start, u64::MAX))
            .collect();
        blocks.sort_by_key(|b| Reverse(b.meta.max_end_unix_nano));
        let (mut read, mut newest_left) = (blocks.len(), 0);
        for (i, block) in blocks.iter().enumerate() {
            newest_left = block.meta.max_end_unix_nano;
            if oldest_listed_start(&acc, q).is_some_and(|t| t > newest_left) {
                read = i;
                break;
            }
            merge_block(&mut acc, block)?;
        }
        if read < blocks.len() {
            let mut listed = newest(acc.values().cloned(), q);
            complete(&mut listed, &blocks[read..])?;
            let listed = newest(listed.into_iter(), q);
            // Still `limit` traces, all newer than anything the unread blocks hold: exact.
            if listed.len() == q.limit && listed.iter().all(|s| s.start_unix_nano > newest_left) {
                return Ok(listed);
            }
            for block in &blocks[read..] {
                merge_block(&mut acc, block)?;
            }
        }
        Ok(newest(acc.into_values(), q))
    }
}

fn merge_block(acc: &mut HashMap<TraceId, TraceSummary>, block: &Block) -> Result<()> {
    block.summaries(|s| match acc.get_mut(&s.trace_id) {
        Some(e) => e.merge(&s),
        None => {
            acc.insert(s.trace_id, s);
        }
    })
}

/// The start of the `q.limit`-th newest matching trace, once there are that many.
fn oldest_listed_start(acc: &HashMap<TraceId, TraceSummary>, q: &TraceQuery) -> Option<u64> {
    let mut starts: Vec<u64> = (acc.values())
        .filter(|s| q.matches(s))
        .map(|s| s.start_unix_nano)
        .collect();
    if q.limit == 0 || starts.len() < q.limit {
        return None;
    }
    let (_, nth, _) = starts.select_nth_unstable_by_key(q.limit - 1, |&s| Reverse(s));
    Some(*nth)
}

/// The matching summaries, newest first, at most `q.limit`.
fn newest(all: impl Iterator<Item = TraceSummary>, q: &TraceQuery) -> Vec<TraceSummary> {
    let mut out: Vec<TraceSummary> = all.filter(|s| q.matches(s)).collect();
    out.sort_unstable_by_key(|s| Reverse(s.start_unix_nano));
    out.truncate(q.limit);
    out
}

/// Merges into each listed trace its spans in `blocks` (the blocks the listing did not read).
fn complete(listed: &mut [TraceSummary], blocks: &[&Arc<Block>]) -> Result<()> {
    for s in listed {
        let id = s.trace_id;
        for block in blocks.iter().filter(|b| b.may_hold(&id)) {
            let mut part = HashMap::new();
            for batch in block.find_trace(&id)? {
                summarize_into(&mut part, &crate::schema::upgrade(batch)?);
            }
            if let Some(p) = part.remove(&id) {
                s.merge(&p);
            }
        }
    }
    Ok(())
}
