//! Structural operators between two sets of spans of one trace.

use crate::ast::SpansetOp;
use crate::trace::TraceView;

/// The relation a structural operator tests, read as "rhs span is <relation> of an lhs span".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rel {
    Child,
    Parent,
    Descendant,
    Ancestor,
    Sibling,
}

impl Rel {
    fn inverse(self) -> Rel {
        match self {
            Rel::Child => Rel::Parent,
            Rel::Parent => Rel::Child,
            Rel::Descendant => Rel::Ancestor,
            Rel::Ancestor => Rel::Descendant,
            Rel::Sibling => Rel::Sibling,
        }
    }
}

/// Spans of `rhs` (and of `lhs` for the union forms) that `op` keeps; sorted, deduplicated.
/// `&&` and `||` are not structural and give an empty result here.
pub(crate) fn apply(
    view: &TraceView<'_>,
    op: SpansetOp,
    lhs: &[usize],
    rhs: &[usize],
) -> Vec<usize> {
    use SpansetOp as O;
    let (rel, mode) = match op {
        O::Child => (Rel::Child, Mode::Plain),
        O::Parent => (Rel::Parent, Mode::Plain),
        O::Descendant => (Rel::Descendant, Mode::Plain),
        O::Ancestor => (Rel::Ancestor, Mode::Plain),
        // Tempo's quirk: plain `~` counts a span matching both sides as its own sibling.
        O::Sibling => (Rel::Sibling, Mode::PlainWithSelf),
        O::NotChild => (Rel::Child, Mode::Not),
        O::NotParent => (Rel::Parent, Mode::Not),
        O::NotDescendant => (Rel::Descendant, Mode::Not),
        O::NotAncestor => (Rel::Ancestor, Mode::Not),
        O::NotSibling => (Rel::Sibling, Mode::Not),
        O::UnionChild => (Rel::Child, Mode::Union),
        O::UnionParent => (Rel::Parent, Mode::Union),
        O::UnionDescendant => (Rel::Descendant, Mode::Union),
        O::UnionAncestor => (Rel::Ancestor, Mode::Union),
        O::UnionSibling => (Rel::Sibling, Mode::Union),
        O::And | O::Or => return Vec::new(),
    };
    let n = view.spans.len();
    let mut out: Vec<usize> = match mode {
        Mode::Plain => related(view, rel, lhs, n, false).filter_in(rhs),
        Mode::PlainWithSelf => related(view, rel, lhs, n, true).filter_in(rhs),
        Mode::Not => {
            let marks = related(view, rel, lhs, n, false);
            rhs.iter().copied().filter(|&b| !marks.has(b)).collect()
        }
        Mode::Union => {
            let mut v = related(view, rel, lhs, n, false).filter_in(rhs);
            v.extend(related(view, rel.inverse(), rhs, n, false).filter_in(lhs));
            v
        }
    };
    out.sort_unstable();
    out.dedup();
    out
}

enum Mode {
    Plain,
    PlainWithSelf,
    Not,
    Union,
}

/// Which spans stand in `rel` to at least one span of `from`.
struct Marks {
    marked: Vec<bool>,
}

impl Marks {
    fn has(&self, i: usize) -> bool {
        self.marked.get(i).copied().unwrap_or(false)
    }

    fn filter_in(&self, candidates: &[usize]) -> Vec<usize> {
        candidates
            .iter()
            .copied()
            .filter(|&i| self.has(i))
            .collect()
    }
}

fn related(view: &TraceView<'_>, rel: Rel, from: &[usize], n: usize, sibling_self: bool) -> Marks {
    let mut marked = vec![false; n];
    let parent = |i: usize| view.spans[i].parent;
    match rel {
        Rel::Child => {
            let mut is_from = vec![false; n];
            from.iter().for_each(|&a| is_from[a] = true);
            for (b, m) in marked.iter_mut().enumerate() {
                *m = parent(b).is_some_and(|p| is_from[p]);
            }
        }
        Rel::Parent => from
            .iter()
            .filter_map(|&a| parent(a))
            .for_each(|p| marked[p] = true),
        Rel::Descendant => {
            // In depth-first (nested-set left) order a parent comes before its children, so
            // "has an ancestor in `from`" propagates down in one pass: O(n log n).
            let mut is_from = vec![false; n];
            from.iter().for_each(|&a| is_from[a] = true);
            let mut order: Vec<usize> = (0..n).filter(|&i| view.spans[i].left > 0).collect();
            order.sort_unstable_by_key(|&i| view.spans[i].left);
            for b in order {
                if let Some(p) = parent(b) {
                    marked[b] = is_from[p] || marked[p];
                }
            }
        }
        Rel::Ancestor => {
            for &a in from {
                let mut cur = parent(a);
                while let Some(p) = cur {
                    if marked[p] {
                        break;
                    }
                    marked[p] = true;
                    cur = parent(p);
                }
            }
        }
        Rel::Sibling => {
            // Count `from` spans per parent, so a span is not its own sibling unless asked.
            let mut per_parent = vec![0usize; n];
            let mut is_from = vec![false; n];
            for &a in from {
                is_from[a] = true;
                if let Some(p) = parent(a) {
                    per_parent[p] += 1;
                }
            }
            for (b, m) in marked.iter_mut().enumerate() {
                if let Some(p) = parent(b) {
                    let own = usize::from(is_from[b] && !sibling_self);
                    *m = per_parent[p] > own;
                }
            }
        }
    }
    Marks { marked }
}
