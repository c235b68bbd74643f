//! `label_replace` and `label_join`: functions that rewrite series labels.

use promql_parser::parser::Expr;

use crate::error::{Error, Result};
use crate::eval::{Ev, Matrix, Val};
use crate::labels::METRIC_NAME;

fn string_arg(ev: &Ev, e: &Expr) -> Result<String> {
    match ev.eval(e)? {
        Val::Str(s) => Ok(s),
        Val::Matrix(_) => Err(Error::BadData("expected a string argument".into())),
    }
}

fn valid_label_name(s: &str) -> bool {
    !s.is_empty()
}

/// `label_replace(v, dst, replacement, src, regex)`.
pub(crate) fn label_replace(ev: &Ev, args: &[&Expr]) -> Result<Matrix> {
    let dst = string_arg(ev, args[1])?;
    let repl = string_arg(ev, args[2])?;
    let src = string_arg(ev, args[3])?;
    let re_src = string_arg(ev, args[4])?;
    let re = regex::Regex::new(&format!("^(?s:{re_src})$")).map_err(|_| {
        Error::exec(format!(
            "invalid regular expression in label_replace(): {re_src}"
        ))
    })?;
    if !valid_label_name(&dst) {
        return Err(Error::exec(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut m = ev.eval_matrix(args[0])?;
    for s in &mut m {
        let v = s.labels.get(&src).unwrap_or("").to_string();
        if let Some(caps) = re.captures(&v) {
            let mut res = String::new();
            caps.expand(&repl, &mut res);
            s.labels = s.labels.with(&dst, &res);
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
        }
    }
    merge_same_labels(m)
}

/// `label_join(v, dst, separator, src...)`.
pub(crate) fn label_join(ev: &Ev, args: &[&Expr]) -> Result<Matrix> {
    let dst = string_arg(ev, args[1])?;
    let sep = string_arg(ev, args[2])?;
    let mut srcs = Vec::new();
    for a in &args[3..] {
        srcs.push(string_arg(ev, a)?);
    }
    if !valid_label_name(&dst) {
        return Err(Error::exec(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut m = ev.eval_matrix(args[0])?;
    for s in &mut m {
        let joined: Vec<&str> = srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
        let v = joined.join(&sep);
        s.labels = s.labels.with(&dst, &v);
        if dst == METRIC_NAME {
            s.drop_name = false;
        }
    }
    merge_same_labels(m)
}

/// Merges series that ended up with the same labels; overlapping timestamps are an error.
pub(crate) fn merge_same_labels(m: Matrix) -> Result<Matrix> {
    let mut index: std::collections::HashMap<crate::labels::Labels, usize> =
        std::collections::HashMap::new();
    let mut out: Matrix = Vec::with_capacity(m.len());
    for s in m {
        match index.get(&s.labels) {
            Some(&i) => {
                let target = &mut out[i];
                for p in s.pts {
                    if target.pts.binary_search_by_key(&p.0, |x| x.0).is_ok() {
                        return Err(Error::exec(
                            "vector cannot contain metrics with the same labelset",
                        ));
                    }
                    target.pts.push(p);
                }
                target.pts.sort_by_key(|x| x.0);
            }
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    Ok(out)
}
