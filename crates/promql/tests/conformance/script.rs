//! Parser for Prometheus's PromQL `.test` script format (see the vendored README).

use sextant_promql::{Labels, stale_nan};

/// One expected value in a series line; `None` is `_` (no point).
pub type Expected = Option<f64>;

/// What an eval expects back.
#[derive(Debug, Default)]
pub struct Expect {
    pub fail: bool,
    pub fail_msg: Option<String>,
    pub fail_regex: Option<String>,
    pub ordered: bool,
    pub warn: bool,
    pub no_warn: bool,
    pub info: bool,
    pub no_info: bool,
    pub string: Option<String>,
    pub scalar: Option<f64>,
    /// `expect range vector from .. to .. step ..` (ms).
    pub range_vector: Option<(i64, i64, i64)>,
    pub series: Vec<(Labels, Vec<Expected>)>,
    /// An expected value is a native histogram.
    pub histogram: bool,
}

/// One command of a script.
#[derive(Debug)]
pub enum Cmd {
    /// Samples to add: labels and `(t ms, value)`; native-histogram values are skipped.
    Load {
        series: Vec<(Labels, Vec<(i64, f64)>)>,
    },
    Clear,
    Eval {
        line: usize,
        query: String,
        start: i64,
        end: i64,
        step: i64,
        instant: bool,
        expect: Expect,
    },
}

/// Parses a Prometheus duration (`1h30m`, `10s`, `0`, `-5m`) to milliseconds.
pub fn duration_ms(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if s == "0" {
        return Some(0);
    }
    let mut total = 0i64;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let num: i64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest.chars().take_while(|c| c.is_ascii_alphabetic()).count();
        let mult = match &rest[..u] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        rest = &rest[u..];
        total += num * mult;
    }
    Some(if neg { -total } else { total })
}

/// Parses a number like Go's `parseNumber` (ints with base prefixes, floats, Inf, NaN).
pub fn number(s: &str) -> Option<f64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()? as f64
    } else {
        match body.to_ascii_lowercase().as_str() {
            "inf" | "infinity" => f64::INFINITY,
            "nan" => f64::NAN,
            _ => body.parse::<f64>().ok()?,
        }
    };
    Some(if neg { -v } else { v })
}

/// Splits a series line into the selector text and the values text.
fn split_series(line: &str) -> (&str, &str) {
    let mut in_quote = false;
    let mut depth = 0;
    for (i, c) in line.char_indices() {
        match c {
            '"' => in_quote = !in_quote,
            '{' if !in_quote => depth += 1,
            '}' if !in_quote => {
                depth -= 1;
                if depth == 0 {
                    return (&line[..=i], line[i + 1..].trim());
                }
            }
            c if c.is_whitespace() && !in_quote && depth == 0 => {
                return (&line[..i], line[i..].trim());
            }
            _ => {}
        }
    }
    (line, "")
}

/// The labels of a series selector written in a script.
pub fn selector_labels(sel: &str) -> Result<Labels, String> {
    if sel.trim() == "{}" {
        return Ok(Labels::empty());
    }
    let expr = sextant_promql::parse(sel).map_err(|e| e.to_string())?;
    let promql_parser::parser::Expr::VectorSelector(vs) = expr else {
        return Err(format!("not a series selector: {sel}"));
    };
    let mut pairs: Vec<(String, String)> = vs
        .matchers
        .matchers
        .iter()
        .map(|m| (m.name.clone(), m.value.clone()))
        .collect();
    if let Some(n) = vs.name {
        pairs.push(("__name__".into(), n));
    }
    Ok(Labels::new(pairs))
}

/// Expands value tokens; `None` entries are `_`. Histogram tokens are reported by `hist`.
pub fn values(text: &str, hist: &mut bool) -> Result<Vec<Option<f64>>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        if rest.starts_with("{{") {
            *hist = true;
            let mut depth = 0i32;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    c if c.is_whitespace() && depth == 0 => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let tok = &rest[..end];
            let tail = &tok[tok.rfind("}}").map_or(0, |i| i + 2)..];
            let n = tail
                .strip_prefix('x')
                .and_then(|k| k.parse::<usize>().ok())
                .map_or(1, |k| k + 1);
            out.extend(std::iter::repeat_n(None, n));
            rest = rest[end..].trim_start();
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        expand(&rest[..end], &mut out)?;
        rest = rest[end..].trim_start();
    }
    Ok(out)
}

fn expand(tok: &str, out: &mut Vec<Option<f64>>) -> Result<(), String> {
    if tok == "_" {
        out.push(None);
        return Ok(());
    }
    if tok == "stale" {
        out.push(Some(stale_nan()));
        return Ok(());
    }
    if let Some(n) = tok.strip_prefix("_x") {
        let n: usize = n.parse().map_err(|_| format!("bad token {tok}"))?;
        out.extend(std::iter::repeat_n(None, n));
        return Ok(());
    }
    // `0x59` is 0 repeated 59 more times, as Prometheus's series lexer reads it, not hex.
    let repeated = tok
        .rfind('x')
        .is_some_and(|x| x > 0 && tok[x + 1..].parse::<i64>().is_ok());
    if !repeated && let Some(v) = number(tok) {
        out.push(Some(v));
        return Ok(());
    }
    let x = tok.rfind('x').ok_or(format!("bad token {tok}"))?;
    let times: i64 = tok[x + 1..]
        .parse()
        .map_err(|_| format!("bad token {tok}"))?;
    let head = &tok[..x];
    let bytes = head.as_bytes();
    let split = (1..bytes.len())
        .find(|&i| (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
    let (start, inc) = match split {
        Some(i) => {
            let a = number(&head[..i]).ok_or(format!("bad token {tok}"))?;
            let b = number(&head[i + 1..]).ok_or(format!("bad token {tok}"))?;
            (a, if bytes[i] == b'-' { -b } else { b })
        }
        None => (number(head).ok_or(format!("bad token {tok}"))?, 0.0),
    };
    let mut k = start;
    for _ in 0..=times {
        out.push(Some(k));
        k += inc;
    }
    Ok(())
}

fn parse_expect(line: &str, e: &mut Expect) -> Result<(), String> {
    let rest = line["expect".len()..].trim();
    let (kind, arg) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let msg = arg.strip_prefix("msg:").map(|s| s.trim().to_string());
    let re = arg.strip_prefix("regex:").map(|s| s.trim().to_string());
    match kind {
        "fail" => {
            e.fail = true;
            e.fail_msg = msg;
            e.fail_regex = re;
        }
        "ordered" => e.ordered = true,
        "warn" => e.warn = true,
        "no_warn" => e.no_warn = true,
        "info" => e.info = true,
        "no_info" => e.no_info = true,
        "string" => e.string = Some(unquote(arg)?),
        "range" => {
            let parts: Vec<&str> = arg.split_whitespace().collect();
            match parts.as_slice() {
                ["vector", "from", s, "to", t, "step", d] => {
                    let p = |x: &str| duration_ms(x).ok_or(format!("bad duration {x}"));
                    e.range_vector = Some((p(s)?, p(t)?, p(d)?));
                }
                _ => return Err(format!("bad expect line {line}")),
            }
        }
        _ => return Err(format!("unknown expect {line}")),
    }
    Ok(())
}

fn unquote(s: &str) -> Result<String, String> {
    if s.len() >= 2 && s.starts_with('`') && s.ends_with('`') {
        return Ok(s[1..s.len() - 1].to_string());
    }
    match sextant_promql::parse(s) {
        Ok(promql_parser::parser::Expr::StringLiteral(l)) => Ok(l.val),
        _ => Err(format!("bad string literal {s}")),
    }
}

/// Parses a whole script.
pub fn parse(text: &str) -> Result<Vec<Cmd>, String> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                String::new()
            } else {
                t.to_string()
            }
        })
        .collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        i += 1;
        if line.is_empty() {
            continue;
        }
        if line == "clear" {
            cmds.push(Cmd::Clear);
        } else if let Some(rest) = line.strip_prefix("load") {
            let rest = rest.strip_prefix("_with_nhcb").unwrap_or(rest);
            let gap = duration_ms(rest.trim()).ok_or(format!("bad load line {line}"))?;
            let mut series = Vec::new();
            while i < lines.len() && !lines[i].is_empty() {
                let (sel, vals) = split_series(&lines[i]);
                if sel.ends_with("@st") || vals.starts_with("@st") {
                    i += 1;
                    continue;
                }
                let labels = selector_labels(sel)?;
                let mut hist = false;
                let vs = values(vals, &mut hist)?;
                let samples = vs
                    .iter()
                    .enumerate()
                    .filter_map(|(k, v)| v.map(|v| (k as i64 * gap, v)))
                    .collect();
                series.push((labels, samples));
                i += 1;
            }
            cmds.push(Cmd::Load { series });
        } else if line.starts_with("eval") {
            let line_no = i;
            let (cmd, next) = parse_eval(&lines, i - 1, line_no)?;
            cmds.push(cmd);
            i = next;
        } else {
            return Err(format!("line {i}: unknown command {line}"));
        }
    }
    Ok(cmds)
}

fn parse_eval(lines: &[String], at: usize, line_no: usize) -> Result<(Cmd, usize), String> {
    let line = &lines[at];
    let (head, rest) = line.split_once(char::is_whitespace).ok_or("bad eval")?;
    let mut e = Expect::default();
    match head {
        "eval" => {}
        "eval_fail" => e.fail = true,
        "eval_warn" => e.warn = true,
        "eval_info" => e.info = true,
        "eval_ordered" => e.ordered = true,
        _ => return Err(format!("bad eval {line}")),
    }
    let rest = rest.trim();
    let (query, start, end, step, instant);
    if let Some(r) = rest.strip_prefix("instant") {
        let r = r
            .trim()
            .strip_prefix("at")
            .ok_or("instant without at")?
            .trim();
        let (t, q) = r.split_once(char::is_whitespace).ok_or("bad instant")?;
        let t = duration_ms(t).ok_or(format!("bad time {t}"))?;
        (query, start, end, step, instant) = (q.trim().to_string(), t, t, 0, true);
    } else if let Some(r) = rest.strip_prefix("range") {
        let parts: Vec<&str> = r.trim().splitn(7, char::is_whitespace).collect();
        let [_, s, _, t, _, d, q] = parts.as_slice() else {
            return Err(format!("bad range {line}"));
        };
        let p = |x: &str| duration_ms(x).ok_or(format!("bad duration {x}"));
        (query, start, end, step, instant) = (q.trim().to_string(), p(s)?, p(t)?, p(d)?, false);
    } else {
        return Err(format!("bad eval {line}"));
    }
    let mut i = at + 1;
    while i < lines.len() && !lines[i].is_empty() {
        let l = &lines[i];
        i += 1;
        if let Some(m) = l.strip_prefix("expected_fail_message") {
            e.fail_msg = Some(m.trim().to_string());
        } else if let Some(m) = l.strip_prefix("expected_fail_regexp") {
            e.fail_regex = Some(m.trim().to_string());
        } else if l.split(' ').next() == Some("expect") {
            parse_expect(l, &mut e)?;
        } else if let Some(v) = number(l) {
            e.scalar = Some(v);
        } else {
            let (sel, vals) = split_series(l);
            let labels = selector_labels(sel)?;
            let mut hist = false;
            let vs = values(vals, &mut hist)?;
            e.histogram |= hist;
            e.series.push((labels, vs));
        }
    }
    Ok((
        Cmd::Eval {
            line: line_no,
            query,
            start,
            end,
            step,
            instant,
            expect: e,
        },
        i,
    ))
}

#[test]
fn expands_series_notation() {
    let mut h = false;
    let v = values("0+10x2 _ 1x1 -2-1x1 stale _x2", &mut h).expect("valid notation");
    let zeros = values("0x2 7", &mut h).expect("valid notation");
    assert_eq!(zeros, vec![Some(0.0), Some(0.0), Some(0.0), Some(7.0)]);
    assert_eq!(v.len(), 3 + 1 + 2 + 2 + 1 + 2);
    assert_eq!(v[1], Some(10.0));
    assert_eq!(v[7], Some(-3.0));
    assert!(v[8].is_some_and(sextant_promql::is_stale));
}
