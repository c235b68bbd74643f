//! Redaction rules: built-in ones for secrets and personal data, plus user regexes.
//!
//! A match is replaced by `[REDACTED:<rule name>]`, so a reader of the stored trace knows that
//! something was there and what kind of thing it was.

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;

pub mod prefilter;

/// Where a rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every string attribute value, the status message and event attributes (secrets).
    Everywhere,
    /// Only prompt/completion/tool content values (personal data, user rules).
    Content,
}

/// Extra check on a regex match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// None: every match is redacted.
    None,
    /// The match's digits must pass the Luhn checksum (card numbers).
    Luhn,
}

/// One redaction rule.
#[derive(Debug, Clone)]
pub struct RedactRule {
    /// Name shown in the marker (`[REDACTED:email]`).
    pub name: String,
    /// What to find.
    pub regex: Regex,
    /// Extra check on each match.
    pub check: Check,
    /// Where it runs.
    pub scope: Scope,
}

/// A user rule from the config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRedactRule {
    /// Name shown in the marker.
    pub name: String,
    /// Regex (Rust `regex` syntax).
    pub pattern: String,
}

/// Built-in rules as data: name, pattern, check, scope.
pub static BUILTIN_RULES: &[(&str, &str, Check, Scope)] = &[
    (
        "bearer_token",
        r"(?i)\bbearer\s+[A-Za-z0-9\-._~+/]{8,}=*",
        Check::None,
        Scope::Everywhere,
    ),
    (
        "api_key",
        r"\b(?:sk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{20,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_\-]{35}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}|xox[abprs]-[A-Za-z0-9\-]{10,}|glpat-[A-Za-z0-9_\-]{20,}|hf_[A-Za-z0-9]{30,})",
        Check::None,
        Scope::Everywhere,
    ),
    (
        "secret",
        r#"(?i)\b(?:api[_-]?key|x-api-key|secret|password|passwd|access[_-]?token)\b["']?\s*[:=]\s*["']?[^\s"',;&]{6,}"#,
        Check::None,
        Scope::Everywhere,
    ),
    (
        "email",
        r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b",
        Check::None,
        Scope::Content,
    ),
    (
        "card",
        r"\b(?:\d[ \-]?){12,18}\d\b",
        Check::Luhn,
        Scope::Content,
    ),
];

/// No rule that applies outside content can match a shorter text (the shortest is a
/// `secret=` keyword with a 6-character value).
pub const MIN_SECRET_LEN: usize = 13;

/// One regex matching wherever any rule with `Everywhere` scope matches.
pub fn everywhere_gate(rules: &[RedactRule]) -> Result<Regex, PolicyError> {
    let alternation: Vec<String> = rules
        .iter()
        .filter(|r| r.scope == Scope::Everywhere)
        .map(|r| format!("(?:{})", r.regex.as_str()))
        .collect();
    let pattern = if alternation.is_empty() {
        // Matches nothing.
        r"[^\s\S]".to_string()
    } else {
        alternation.join("|")
    };
    Regex::new(&pattern).map_err(|e| PolicyError::BadPattern {
        name: "secrets gate".into(),
        reason: e.to_string(),
    })
}

/// The built-in rules followed by the user's (all user rules have content scope).
pub fn rules(user: &[UserRedactRule]) -> Result<Vec<RedactRule>, PolicyError> {
    let mut out = Vec::with_capacity(BUILTIN_RULES.len() + user.len());
    for (name, pattern, check, scope) in BUILTIN_RULES {
        let regex = Regex::new(pattern).map_err(|e| PolicyError::BadPattern {
            name: (*name).to_string(),
            reason: e.to_string(),
        })?;
        out.push(RedactRule {
            name: (*name).to_string(),
            regex,
            check: *check,
            scope: *scope,
        });
    }
    for u in user {
        let regex = Regex::new(&u.pattern).map_err(|e| PolicyError::BadPattern {
            name: u.name.clone(),
            reason: e.to_string(),
        })?;
        out.push(RedactRule {
            name: u.name.clone(),
            regex,
            check: Check::None,
            scope: Scope::Content,
        });
    }
    Ok(out)
}

/// Applies the rules allowed in this place (`content`: all rules; else `Everywhere` ones) and
/// returns the new text and the number of redactions, or `None` when nothing matched.
pub fn redact(text: &str, rules: &[RedactRule], content: bool) -> Option<(String, u32)> {
    let mut current: Option<String> = None;
    let mut count = 0;
    for rule in rules
        .iter()
        .filter(|r| content || r.scope == Scope::Everywhere)
    {
        let src = current.as_deref().unwrap_or(text);
        if let Some((next, n)) = apply_rule(src, rule) {
            current = Some(next);
            count += n;
        }
    }
    current.map(|s| (s, count))
}

fn apply_rule(text: &str, rule: &RedactRule) -> Option<(String, u32)> {
    let mut out = String::new();
    let mut last = 0;
    let mut n = 0;
    for m in rule.regex.find_iter(text) {
        if rule.check == Check::Luhn && !luhn_ok(m.as_str()) {
            continue;
        }
        out.push_str(&text[last..m.start()]);
        out.push_str("[REDACTED:");
        out.push_str(&rule.name);
        out.push(']');
        last = m.end();
        n += 1;
    }
    if n == 0 {
        return None;
    }
    out.push_str(&text[last..]);
    Some((out, n))
}

/// Luhn checksum over the digits of `s` (13 to 19 digits).
pub fn luhn_ok(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<RedactRule> {
        rules(&[UserRedactRule {
            name: "ticket".into(),
            pattern: r"TICKET-\d+".into(),
        }])
        .expect("valid rules")
    }

    #[test]
    fn content_redaction() {
        let r = all();
        let (out, n) = redact(
            "mail bob@example.com, card 4111 1111 1111 1111, not 4111 1111 1111 1112, TICKET-42",
            &r,
            true,
        )
        .expect("changed");
        assert_eq!(
            out,
            "mail [REDACTED:email], card [REDACTED:card], not 4111 1111 1111 1112, [REDACTED:ticket]"
        );
        assert_eq!(n, 3);
    }

    #[test]
    fn secrets_everywhere_but_personal_data_only_in_content() {
        let r = all();
        let text = "Authorization: Bearer abcdefghijklmnop key sk-proj-ABCDEFGHIJKLMNOPQRSTUV to bob@example.com";
        let (out, _) = redact(text, &r, false).expect("changed");
        assert_eq!(
            out,
            "Authorization: [REDACTED:bearer_token] key [REDACTED:api_key] to bob@example.com"
        );
        assert!(redact("nothing to see here", &r, true).is_none());
    }

    #[test]
    fn luhn() {
        assert!(luhn_ok("4111111111111111"));
        assert!(luhn_ok("5500-0000-0000-0004"));
        assert!(!luhn_ok("4111111111111112"));
        assert!(!luhn_ok("1234"));
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shortest_secrets_are_at_least_min_len() {
        let r = rules(&[]).expect("rules");
        let gate = everywhere_gate(&r).expect("gate");
        for s in ["secret=abcdef", "passwd:abcdef", "bearer abcdefgh"] {
            assert!(s.len() >= MIN_SECRET_LEN, "{s}");
            assert!(gate.is_match(s), "{s}");
            assert!(redact(s, &r, false).is_some(), "{s}");
        }
        assert!(!gate.is_match("secret=abcde"));
        assert!(!gate.is_match("gpt-4o-mini"));
    }

    proptest! {
        /// The gate and the length cut never skip a value a rule would have redacted.
        #[test]
        fn gate_never_hides_a_secret(
            prefix in "[a-z =:]{0,8}",
            key in "(secret|password|api_key|bearer |sk-|AKIA|xoxb-|hf_|ghp_)",
            body in "[A-Za-z0-9_=:-]{0,40}",
        ) {
            let r = rules(&[]).expect("rules");
            let gate = everywhere_gate(&r).expect("gate");
            let text = format!("{prefix}{key}{body}");
            if redact(&text, &r, false).is_some() {
                prop_assert!(text.len() >= MIN_SECRET_LEN);
                prop_assert!(gate.is_match(&text));
            }
        }
    }
}
