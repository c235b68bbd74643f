//! Property tests: the parser never panics, and printing any syntax tree parses back to it.

use proptest::prelude::*;
use sextant_traceql::ast::*;
use sextant_traceql::{parse, parse_syntax};

/// Intrinsics with the spellings they have: (intrinsic, has unscoped form, has colon form).
const INTRINSICS: &[(Intrinsic, bool, bool)] = &[
    (Intrinsic::Duration, true, true),
    (Intrinsic::Name, true, true),
    (Intrinsic::Status, true, true),
    (Intrinsic::StatusMessage, true, true),
    (Intrinsic::Kind, true, true),
    (Intrinsic::Parent, true, false),
    (Intrinsic::RootName, true, true),
    (Intrinsic::RootServiceName, true, true),
    (Intrinsic::TraceDuration, true, true),
    (Intrinsic::TraceId, false, true),
    (Intrinsic::SpanId, false, true),
    (Intrinsic::SpanParentId, false, true),
    (Intrinsic::ChildCount, false, true),
    (Intrinsic::NestedSetLeft, true, false),
    (Intrinsic::NestedSetRight, true, false),
    (Intrinsic::NestedSetParent, true, false),
    (Intrinsic::EventName, false, true),
    (Intrinsic::EventTimeSinceStart, false, true),
    (Intrinsic::LinkTraceId, false, true),
    (Intrinsic::LinkSpanId, false, true),
    (Intrinsic::InstrumentationName, false, true),
    (Intrinsic::InstrumentationVersion, false, true),
];

fn field_ref() -> impl Strategy<Value = FieldRef> {
    let scope = prop_oneof![
        Just(AttributeScope::None),
        Just(AttributeScope::Span),
        Just(AttributeScope::Resource),
        Just(AttributeScope::Event),
        Just(AttributeScope::Link),
        Just(AttributeScope::Instrumentation),
    ];
    let name = prop_oneof![
        "[a-z_][a-z0-9_.]{0,12}",
        "[a-z0-9 .\"\\\\{}()=~!<>&|^,:µ-]{1,10}",
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
    ];
    let attr = (scope, any::<bool>(), name).prop_map(|(scope, parent, name)| {
        let scope = if parent && !matches!(scope, AttributeScope::Span | AttributeScope::Resource) {
            AttributeScope::None
        } else {
            scope
        };
        FieldRef::Attribute(Attribute {
            scope,
            parent,
            name,
        })
    });
    let intrinsic = (0..INTRINSICS.len(), any::<bool>()).prop_map(|(i, want_colon)| {
        let (intrinsic, unscoped, scoped) = INTRINSICS[i];
        let colon = (want_colon && scoped) || !unscoped;
        FieldRef::Intrinsic { intrinsic, colon }
    });
    prop_oneof![attr, intrinsic]
}

fn number() -> impl Strategy<Value = Static> {
    prop_oneof![
        any::<i64>().prop_map(Static::Int),
        (-1e12f64..1e12).prop_map(Static::Float),
        (-(1i64 << 50)..(1i64 << 50)).prop_map(Static::Duration),
    ]
}

fn literal() -> impl Strategy<Value = Static> {
    prop_oneof![
        number(),
        Just(Static::Nil),
        any::<bool>().prop_map(Static::Bool),
        any::<String>().prop_map(Static::Str),
        prop_oneof![Just(Status::Ok), Just(Status::Error), Just(Status::Unset)]
            .prop_map(Static::Status),
        prop_oneof![
            Just(Kind::Server),
            Just(Kind::Client),
            Just(Kind::Unspecified),
            Just(Kind::Consumer)
        ]
        .prop_map(Static::Kind),
    ]
}

fn binary_op() -> impl Strategy<Value = BinaryOp> {
    use BinaryOp::*;
    proptest::sample::select(vec![
        Add, Sub, Mul, Div, Mod, Pow, Eq, Ne, Lt, Le, Gt, Ge, Regex, NotRegex, And, Or,
    ])
}

fn field_expr() -> impl Strategy<Value = FieldExpr> {
    let leaf = prop_oneof![
        literal().prop_map(FieldExpr::Static),
        field_ref().prop_map(FieldExpr::Field)
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (binary_op(), inner.clone(), inner.clone()).prop_map(|(op, l, r)| FieldExpr::Binary(
                op,
                Box::new(l),
                Box::new(r)
            )),
            inner
                .clone()
                .prop_filter("numeric literals fold", |e| !matches!(
                    e,
                    FieldExpr::Static(Static::Int(_) | Static::Float(_) | Static::Duration(_))
                ))
                .prop_map(|e| FieldExpr::Neg(Box::new(e))),
            inner.prop_map(|e| FieldExpr::Not(Box::new(e))),
        ]
    })
}

fn spanset_op() -> impl Strategy<Value = SpansetOp> {
    use SpansetOp::*;
    proptest::sample::select(vec![
        And,
        Or,
        Child,
        Parent,
        Descendant,
        Ancestor,
        Sibling,
        NotChild,
        NotParent,
        NotDescendant,
        NotAncestor,
        NotSibling,
        UnionChild,
        UnionParent,
        UnionDescendant,
        UnionAncestor,
        UnionSibling,
    ])
}

fn spanset() -> impl Strategy<Value = SpansetExpr> {
    let leaf = proptest::option::of(field_expr()).prop_map(SpansetExpr::Filter);
    leaf.prop_recursive(3, 8, 2, |inner| {
        (spanset_op(), inner.clone(), inner)
            .prop_map(|(op, l, r)| SpansetExpr::Op(op, Box::new(l), Box::new(r)))
    })
}

fn aggregate(count: bool) -> impl Strategy<Value = Aggregate> {
    let funcs = if count {
        vec![
            AggregateFunc::Count,
            AggregateFunc::Avg,
            AggregateFunc::Min,
            AggregateFunc::Max,
            AggregateFunc::Sum,
        ]
    } else {
        vec![
            AggregateFunc::Avg,
            AggregateFunc::Min,
            AggregateFunc::Max,
            AggregateFunc::Sum,
        ]
    };
    (proptest::sample::select(funcs), field_expr()).prop_map(|(func, e)| Aggregate {
        func,
        arg: (func != AggregateFunc::Count).then_some(e),
    })
}

fn cmp_op() -> impl Strategy<Value = BinaryOp> {
    use BinaryOp::*;
    proptest::sample::select(vec![Eq, Ne, Lt, Le, Gt, Ge])
}

fn middle_stage() -> impl Strategy<Value = Stage> {
    prop_oneof![
        spanset().prop_map(Stage::Spanset),
        (cmp_op(), aggregate(true), number()).prop_map(|(op, a, n)| Stage::ScalarFilter(
            ScalarFilter {
                op,
                lhs: ScalarExpr::Aggregate(a),
                rhs: ScalarExpr::Static(n),
            }
        )),
        field_expr().prop_map(Stage::By),
        proptest::collection::vec(field_ref(), 1..4).prop_map(Stage::Select),
        Just(Stage::Coalesce),
    ]
}

fn pipeline(allow_aggregate_end: bool) -> impl Strategy<Value = Pipeline> {
    (
        middle_stage().prop_filter("coalesce is never first", |s| *s != Stage::Coalesce),
        proptest::collection::vec(middle_stage(), 0..3),
        proptest::option::of(aggregate(false)),
    )
        .prop_map(move |(first, rest, last)| {
            let mut stages = vec![first];
            stages.extend(rest);
            if let Some(a) = last.filter(|_| allow_aggregate_end) {
                stages.push(Stage::Aggregate(a));
            }
            Pipeline { stages }
        })
}

fn metrics() -> impl Strategy<Value = MetricsQuery> {
    let func = prop_oneof![
        Just(MetricsFunc::Rate),
        Just(MetricsFunc::CountOverTime),
        field_ref().prop_map(MetricsFunc::MinOverTime),
        field_ref().prop_map(MetricsFunc::AvgOverTime),
        field_ref().prop_map(MetricsFunc::HistogramOverTime),
        (field_ref(), proptest::collection::vec(-2.0f64..2.0, 1..4))
            .prop_map(|(f, q)| MetricsFunc::QuantileOverTime(f, q)),
        (
            proptest::option::of(field_expr()),
            proptest::option::of((
                0i64..100,
                proptest::option::of((0i64..i64::MAX, 0i64..i64::MAX))
            ))
        )
            .prop_map(|(sel, top)| MetricsFunc::Compare {
                selection: SpansetExpr::Filter(sel),
                top: top.map(|t| t.0),
                window: top.and_then(|t| t.1),
            }),
    ];
    let second = prop_oneof![
        (0i64..50).prop_map(SecondStage::TopK),
        (0i64..50).prop_map(SecondStage::BottomK),
        (cmp_op(), number()).prop_map(|(op, n)| SecondStage::Filter(op, n)),
    ];
    (
        pipeline(false),
        func,
        proptest::collection::vec(field_ref(), 0..3),
        proptest::collection::vec(second, 0..3),
    )
        .prop_map(|(pipeline, func, by, second)| MetricsQuery {
            pipeline,
            func,
            by,
            second,
        })
}

fn query() -> impl Strategy<Value = Query> {
    let hint = (
        "[a-z_][a-z_0-9]{0,8}",
        prop_oneof![
            number(),
            any::<bool>().prop_map(Static::Bool),
            "[ -~]{0,8}".prop_map(Static::Str)
        ],
    )
        .prop_map(|(name, value)| Hint { name, value });
    let root = prop_oneof![
        pipeline(true).prop_map(Root::Pipeline),
        metrics().prop_map(Root::Metrics)
    ];
    (root, proptest::collection::vec(hint, 0..2)).prop_map(|(root, hints)| Query { root, hints })
}

/// Fragments of TraceQL, so random input reaches deep into the parser.
fn token_soup() -> impl Strategy<Value = String> {
    let frag = proptest::sample::select(vec![
        "{",
        "}",
        "(",
        ")",
        "|",
        "&&",
        "||",
        ">",
        ">>",
        "<",
        "!",
        "~",
        "!~",
        "&>",
        "=",
        "!=",
        "=~",
        ".a",
        "span.x",
        "resource.service.name",
        "\"s\"",
        "1",
        "-",
        "1.5",
        "2s",
        "nil",
        "true",
        "error",
        "server",
        "duration",
        "name",
        "span:id",
        "count()",
        "avg(",
        "by(",
        "select(",
        "coalesce()",
        "rate()",
        "quantile_over_time(",
        ",",
        "topk(",
        "with(",
        "sample=",
        " ",
    ]);
    proptest::collection::vec(frag, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parser_never_panics_on_arbitrary_text(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn parser_never_panics_on_token_soup(s in token_soup()) {
        if let Ok(q) = parse_syntax(&s) {
            let printed = q.to_string();
            prop_assert_eq!(parse_syntax(&printed).ok(), Some(q), "{} printed as {}", s, printed);
        }
    }

    #[test]
    fn printing_round_trips(q in query()) {
        let printed = q.to_string();
        let again = parse_syntax(&printed);
        prop_assert_eq!(again.as_ref().ok(), Some(&q), "printed {} -> {:?}", printed, again);
    }
}
