//! Compiled match clauses.

use regex::Regex;

use super::schema::MatchRule;

/// A match clause ready to test strings; regexes are compiled once.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// Prefix.
    StartsWith(String),
    /// Suffix.
    EndsWith(String),
    /// Substring.
    Contains(String),
    /// Regex search.
    Regex(Regex),
    /// A regex the Rust engine cannot compile (look-around, ...): matches nothing.
    Unsupported,
    /// Whole string.
    Equals(String),
    /// Any.
    Or(Vec<Matcher>),
    /// All.
    And(Vec<Matcher>),
}

impl Matcher {
    /// Compiles a clause; patterns are lowercased as the reference implementation matches
    /// lowercased names. Returns the regexes that could not be compiled in `bad`.
    pub fn compile(rule: &MatchRule, bad: &mut Vec<String>) -> Matcher {
        match rule {
            MatchRule::StartsWith(s) => Matcher::StartsWith(s.to_lowercase()),
            MatchRule::EndsWith(s) => Matcher::EndsWith(s.to_lowercase()),
            MatchRule::Contains(s) => Matcher::Contains(s.to_lowercase()),
            MatchRule::Equals(s) => Matcher::Equals(s.to_lowercase()),
            MatchRule::Regex(p) => match Regex::new(p) {
                Ok(r) => Matcher::Regex(r),
                Err(_) => {
                    bad.push(p.clone());
                    Matcher::Unsupported
                }
            },
            MatchRule::Or(v) => Matcher::Or(v.iter().map(|r| Matcher::compile(r, bad)).collect()),
            MatchRule::And(v) => Matcher::And(v.iter().map(|r| Matcher::compile(r, bad)).collect()),
        }
    }

    /// Tests a (lowercased) name.
    pub fn is_match(&self, text: &str) -> bool {
        match self {
            Matcher::StartsWith(s) => text.starts_with(s.as_str()),
            Matcher::EndsWith(s) => text.ends_with(s.as_str()),
            Matcher::Contains(s) => text.contains(s.as_str()),
            Matcher::Regex(r) => r.is_match(text),
            Matcher::Unsupported => false,
            Matcher::Equals(s) => text == s,
            Matcher::Or(v) => v.iter().any(|m| m.is_match(text)),
            Matcher::And(v) => v.iter().all(|m| m.is_match(text)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses() {
        let rule: MatchRule = serde_json::from_str(
            r#"{"or": [{"equals": "gpt-4o"}, {"and": [{"starts_with": "ft:"}, {"regex": "^ft:gpt-4o-\\d{4}"}]}]}"#,
        )
        .expect("valid clause");
        let m = Matcher::compile(&rule, &mut Vec::new());
        assert!(m.is_match("gpt-4o"));
        assert!(m.is_match("ft:gpt-4o-2024-08-06:org::x"));
        assert!(!m.is_match("gpt-4o-mini"));
    }

    #[test]
    fn unsupported_regex_matches_nothing_and_is_reported() {
        let mut bad = Vec::new();
        let m = Matcher::compile(&MatchRule::Regex("^(?!x)a".into()), &mut bad);
        assert!(!m.is_match("a"));
        assert_eq!(bad.len(), 1);
    }
}
