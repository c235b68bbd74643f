//! The syntax tree of a TraceQL query. Parentheses used only for grouping leave no node;
//! `Display` (in `display.rs`) prints a tree back as text that parses to the same tree.

/// A whole query: a search pipeline or a metrics query, plus trailing `with(...)` hints.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// What the query computes.
    pub root: Root,
    /// `with (name = value, ...)`, in the order written.
    pub hints: Vec<Hint>,
}

impl Query {
    /// Whether this is a metrics query (what `/api/metrics/*` accepts).
    pub fn is_metrics(&self) -> bool {
        matches!(self.root, Root::Metrics(_))
    }

    /// The value of hint `name` (`with(name = value)`), the last one if repeated.
    pub fn hint(&self, name: &str) -> Option<&Static> {
        self.hints
            .iter()
            .rev()
            .find(|h| h.name == name)
            .map(|h| &h.value)
    }
}

/// The two kinds of query.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    /// A search: stages separated by `|`.
    Pipeline(Pipeline),
    /// A search pipeline followed by a metrics function.
    Metrics(MetricsQuery),
}

/// One `with(...)` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Hint {
    /// Hint name, e.g. `sample`.
    pub name: String,
    /// Hint value.
    pub value: Static,
}

/// Stages separated by `|`, applied left to right.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// At least one stage.
    pub stages: Vec<Stage>,
}

/// One pipeline stage.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// `{ ... }` or spansets combined with `&&`, `||` or a structural operator.
    Spanset(SpansetExpr),
    /// `aggregate op number`, e.g. `count() > 2`.
    ScalarFilter(ScalarFilter),
    /// `by(expr)`: split each spanset by the value of `expr`.
    By(FieldExpr),
    /// `select(a, b)`: fetch these fields for the result spans.
    Select(Vec<FieldRef>),
    /// `coalesce()`: merge all spansets into one.
    Coalesce,
    /// Sextant extension: a final bare `avg|sum|min|max(expr)` that annotates without filtering.
    Aggregate(Aggregate),
}

/// An expression whose value is a list of spansets.
#[derive(Debug, Clone, PartialEq)]
pub enum SpansetExpr {
    /// `{ expr }`; `None` for `{ }` (every span).
    Filter(Option<FieldExpr>),
    /// `lhs op rhs`.
    Op(SpansetOp, Box<SpansetExpr>, Box<SpansetExpr>),
    /// A parenthesised pipeline of more than one stage, or of one non-spanset stage.
    Pipeline(Box<Pipeline>),
}

/// Operators between spansets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpansetOp {
    /// `&&`: both sides non-empty; union.
    And,
    /// `||`: union.
    Or,
    /// `>`: right spans that are children of a left span.
    Child,
    /// `<`: right spans that are parents of a left span.
    Parent,
    /// `>>`: right spans that are descendants of a left span.
    Descendant,
    /// `<<`: right spans that are ancestors of a left span.
    Ancestor,
    /// `~`: right spans that are siblings of a left span.
    Sibling,
    /// `!>`.
    NotChild,
    /// `!<`.
    NotParent,
    /// `!>>`.
    NotDescendant,
    /// `!<<`.
    NotAncestor,
    /// `!~`.
    NotSibling,
    /// `&>`.
    UnionChild,
    /// `&<`.
    UnionParent,
    /// `&>>`.
    UnionDescendant,
    /// `&<<`.
    UnionAncestor,
    /// `&~`.
    UnionSibling,
}

impl SpansetOp {
    /// How the operator is written.
    pub fn symbol(self) -> &'static str {
        match self {
            SpansetOp::And => "&&",
            SpansetOp::Or => "||",
            SpansetOp::Child => ">",
            SpansetOp::Parent => "<",
            SpansetOp::Descendant => ">>",
            SpansetOp::Ancestor => "<<",
            SpansetOp::Sibling => "~",
            SpansetOp::NotChild => "!>",
            SpansetOp::NotParent => "!<",
            SpansetOp::NotDescendant => "!>>",
            SpansetOp::NotAncestor => "!<<",
            SpansetOp::NotSibling => "!~",
            SpansetOp::UnionChild => "&>",
            SpansetOp::UnionParent => "&<",
            SpansetOp::UnionDescendant => "&>>",
            SpansetOp::UnionAncestor => "&<<",
            SpansetOp::UnionSibling => "&~",
        }
    }

    /// `&&` and `||` bind looser than the structural operators.
    pub fn is_logical(self) -> bool {
        matches!(self, SpansetOp::And | SpansetOp::Or)
    }
}

/// `lhs op rhs` between scalars.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarFilter {
    /// Comparison.
    pub op: BinaryOp,
    /// Left side.
    pub lhs: ScalarExpr,
    /// Right side.
    pub rhs: ScalarExpr,
}

/// A scalar per spanset.
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarExpr {
    /// `count()`, `avg(x)`, ...
    Aggregate(Aggregate),
    /// A number or duration literal.
    Static(Static),
    /// Arithmetic.
    Binary(BinaryOp, Box<ScalarExpr>, Box<ScalarExpr>),
    /// `( pipeline | aggregate )`.
    Pipeline(Box<Pipeline>),
}

/// An aggregate over the spans of a spanset.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// Which aggregate.
    pub func: AggregateFunc,
    /// The per-span value; `None` only for `count()`.
    pub arg: Option<FieldExpr>,
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateFunc {
    /// `count()`.
    Count,
    /// `avg(x)`.
    Avg,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
    /// `sum(x)`.
    Sum,
}

impl AggregateFunc {
    /// The function name.
    pub fn name(self) -> &'static str {
        match self {
            AggregateFunc::Count => "count",
            AggregateFunc::Avg => "avg",
            AggregateFunc::Min => "min",
            AggregateFunc::Max => "max",
            AggregateFunc::Sum => "sum",
        }
    }
}

/// An expression evaluated per span.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldExpr {
    /// A literal.
    Static(Static),
    /// An attribute or intrinsic.
    Field(FieldRef),
    /// `lhs op rhs`.
    Binary(BinaryOp, Box<FieldExpr>, Box<FieldExpr>),
    /// `-x`.
    Neg(Box<FieldExpr>),
    /// `!x`.
    Not(Box<FieldExpr>),
}

/// Binary operators inside field and scalar expressions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
    /// `^`.
    Pow,
    /// `=`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `=~`.
    Regex,
    /// `!~`.
    NotRegex,
    /// `&&`.
    And,
    /// `||`.
    Or,
}

impl BinaryOp {
    /// How the operator is written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Regex => "=~",
            BinaryOp::NotRegex => "!~",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
        }
    }

    /// Arithmetic operators.
    pub fn is_arithmetic(self) -> bool {
        matches!(
            self,
            BinaryOp::Add
                | BinaryOp::Sub
                | BinaryOp::Mul
                | BinaryOp::Div
                | BinaryOp::Mod
                | BinaryOp::Pow
        )
    }

    /// `= != < <= > >=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge
        )
    }

    /// `=~ !~`.
    pub fn is_regex(self) -> bool {
        matches!(self, BinaryOp::Regex | BinaryOp::NotRegex)
    }
}

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Static {
    /// `nil`: the attribute is absent.
    Nil,
    /// Integer (also `minInt`, `maxInt`).
    Int(i64),
    /// Float.
    Float(f64),
    /// String.
    Str(String),
    /// `true` / `false`.
    Bool(bool),
    /// Duration in nanoseconds.
    Duration(i64),
    /// `ok`, `error`, `unset`.
    Status(Status),
    /// `unspecified`, `internal`, `server`, `client`, `producer`, `consumer`.
    Kind(Kind),
}

/// Span status values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `unset`.
    Unset,
    /// `ok`.
    Ok,
    /// `error`.
    Error,
}

/// Span kind values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `unspecified`.
    Unspecified,
    /// `internal`.
    Internal,
    /// `server`.
    Server,
    /// `client`.
    Client,
    /// `producer`.
    Producer,
    /// `consumer`.
    Consumer,
}

/// A reference to something a span has: an attribute or an intrinsic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldRef {
    /// `span.x`, `.x`, `resource.x`, ...
    Attribute(Attribute),
    /// `duration`, `span:id`, ...; `colon` remembers which spelling was used.
    Intrinsic {
        /// Which intrinsic.
        intrinsic: Intrinsic,
        /// Written in the `scope:name` form.
        colon: bool,
    },
}

/// A scoped or unscoped attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// Where to look.
    pub scope: AttributeScope,
    /// `parent.` prefix (parses; never executes).
    pub parent: bool,
    /// Attribute key, quotes removed.
    pub name: String,
}

/// Attribute scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeScope {
    /// `.x`: span, then resource, event, link and instrumentation attributes.
    None,
    /// `span.x`.
    Span,
    /// `resource.x`.
    Resource,
    /// `event.x`.
    Event,
    /// `link.x`.
    Link,
    /// `instrumentation.x`.
    Instrumentation,
}

impl AttributeScope {
    /// The prefix before the name, e.g. `span.` or `.`.
    pub fn prefix(self) -> &'static str {
        match self {
            AttributeScope::None => ".",
            AttributeScope::Span => "span.",
            AttributeScope::Resource => "resource.",
            AttributeScope::Event => "event.",
            AttributeScope::Link => "link.",
            AttributeScope::Instrumentation => "instrumentation.",
        }
    }
}

/// Intrinsic fields of a span or its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    /// Span duration (ns).
    Duration,
    /// Span name.
    Name,
    /// Span status code.
    Status,
    /// Span status message.
    StatusMessage,
    /// Span kind.
    Kind,
    /// The parent span (parses; never executes).
    Parent,
    /// Root span name.
    RootName,
    /// Root span's `service.name`.
    RootServiceName,
    /// Trace duration (ns): last end minus first start.
    TraceDuration,
    /// Trace id (hex).
    TraceId,
    /// Span id (hex).
    SpanId,
    /// Parent span id (hex).
    SpanParentId,
    /// Number of direct children.
    ChildCount,
    /// Nested-set left number.
    NestedSetLeft,
    /// Nested-set right number.
    NestedSetRight,
    /// Nested-set left number of the parent, -1 for a root.
    NestedSetParent,
    /// Event names.
    EventName,
    /// Event time minus span start (ns).
    EventTimeSinceStart,
    /// Linked trace ids (hex).
    LinkTraceId,
    /// Linked span ids (hex).
    LinkSpanId,
    /// Instrumentation scope name.
    InstrumentationName,
    /// Instrumentation scope version.
    InstrumentationVersion,
}

/// A `scope:name` spelling.
type ColonForm = (&'static str, &'static str);

/// `(intrinsic, unscoped spelling, colon spelling)`.
pub(crate) const INTRINSICS: &[(Intrinsic, Option<&str>, Option<ColonForm>)] = &[
    (
        Intrinsic::Duration,
        Some("duration"),
        Some(("span", "duration")),
    ),
    (Intrinsic::Name, Some("name"), Some(("span", "name"))),
    (Intrinsic::Status, Some("status"), Some(("span", "status"))),
    (
        Intrinsic::StatusMessage,
        Some("statusMessage"),
        Some(("span", "statusMessage")),
    ),
    (Intrinsic::Kind, Some("kind"), Some(("span", "kind"))),
    (Intrinsic::Parent, Some("parent"), None),
    (
        Intrinsic::RootName,
        Some("rootName"),
        Some(("trace", "rootName")),
    ),
    (
        Intrinsic::RootServiceName,
        Some("rootServiceName"),
        Some(("trace", "rootService")),
    ),
    (
        Intrinsic::TraceDuration,
        Some("traceDuration"),
        Some(("trace", "duration")),
    ),
    (Intrinsic::TraceId, None, Some(("trace", "id"))),
    (Intrinsic::SpanId, None, Some(("span", "id"))),
    (Intrinsic::SpanParentId, None, Some(("span", "parentID"))),
    (Intrinsic::ChildCount, None, Some(("span", "childCount"))),
    (Intrinsic::NestedSetLeft, Some("nestedSetLeft"), None),
    (Intrinsic::NestedSetRight, Some("nestedSetRight"), None),
    (Intrinsic::NestedSetParent, Some("nestedSetParent"), None),
    (Intrinsic::EventName, None, Some(("event", "name"))),
    (
        Intrinsic::EventTimeSinceStart,
        None,
        Some(("event", "timeSinceStart")),
    ),
    (Intrinsic::LinkTraceId, None, Some(("link", "traceID"))),
    (Intrinsic::LinkSpanId, None, Some(("link", "spanID"))),
    (
        Intrinsic::InstrumentationName,
        None,
        Some(("instrumentation", "name")),
    ),
    (
        Intrinsic::InstrumentationVersion,
        None,
        Some(("instrumentation", "version")),
    ),
];

impl Intrinsic {
    /// Looks up an unscoped intrinsic name such as `duration`.
    pub fn from_unscoped(name: &str) -> Option<Intrinsic> {
        INTRINSICS
            .iter()
            .find(|(_, u, _)| *u == Some(name))
            .map(|(i, _, _)| *i)
    }

    /// Looks up a colon form such as `span:duration`.
    pub fn from_colon(scope: &str, name: &str) -> Option<Intrinsic> {
        INTRINSICS
            .iter()
            .find(|(_, _, c)| *c == Some((scope, name)))
            .map(|(i, _, _)| *i)
    }

    /// The spelling to print: the colon form when asked for and available.
    pub fn spelling(self, colon: bool) -> String {
        let Some((_, unscoped, scoped)) = INTRINSICS.iter().find(|(i, _, _)| *i == self) else {
            return String::new();
        };
        match (colon, unscoped, scoped) {
            (true, _, Some((s, n))) | (false, None, Some((s, n))) => format!("{s}:{n}"),
            (_, Some(u), _) => (*u).to_string(),
            (_, None, None) => String::new(),
        }
    }

    /// The key under which the value appears in a search result's span attributes.
    pub fn bare_name(self) -> String {
        let full = self.spelling(false);
        match full.split_once(':') {
            Some((_, n)) => n.to_string(),
            None => full,
        }
    }
}

/// A metrics query: `pipeline | function by(...) | second stages`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsQuery {
    /// The spans to measure.
    pub pipeline: Pipeline,
    /// The function.
    pub func: MetricsFunc,
    /// Grouping labels.
    pub by: Vec<FieldRef>,
    /// `topk`, `bottomk` and threshold filters, in order.
    pub second: Vec<SecondStage>,
}

/// Metrics functions.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricsFunc {
    /// `rate()`.
    Rate,
    /// `count_over_time()`.
    CountOverTime,
    /// `min_over_time(x)`.
    MinOverTime(FieldRef),
    /// `max_over_time(x)`.
    MaxOverTime(FieldRef),
    /// `sum_over_time(x)`.
    SumOverTime(FieldRef),
    /// `avg_over_time(x)`.
    AvgOverTime(FieldRef),
    /// `histogram_over_time(x)`.
    HistogramOverTime(FieldRef),
    /// `quantile_over_time(x, q...)`.
    QuantileOverTime(FieldRef, Vec<f64>),
    /// `compare({selection}, topN, start, end)`.
    Compare {
        /// Selection filter.
        selection: SpansetExpr,
        /// Top N values per attribute.
        top: Option<i64>,
        /// Selection window in Unix nanoseconds.
        window: Option<(i64, i64)>,
    },
}

impl MetricsFunc {
    /// The function name, used as `__name__` of ungrouped series.
    pub fn name(&self) -> &'static str {
        match self {
            MetricsFunc::Rate => "rate",
            MetricsFunc::CountOverTime => "count_over_time",
            MetricsFunc::MinOverTime(_) => "min_over_time",
            MetricsFunc::MaxOverTime(_) => "max_over_time",
            MetricsFunc::SumOverTime(_) => "sum_over_time",
            MetricsFunc::AvgOverTime(_) => "avg_over_time",
            MetricsFunc::HistogramOverTime(_) => "histogram_over_time",
            MetricsFunc::QuantileOverTime(..) => "quantile_over_time",
            MetricsFunc::Compare { .. } => "compare",
        }
    }
}

/// Stages after a metrics function.
#[derive(Debug, Clone, PartialEq)]
pub enum SecondStage {
    /// `topk(k)`.
    TopK(i64),
    /// `bottomk(k)`.
    BottomK(i64),
    /// `op value`: keep points for which `value op threshold` holds.
    Filter(BinaryOp, Static),
}
