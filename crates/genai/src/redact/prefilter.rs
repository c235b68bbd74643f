//! A single byte pass that rejects values which cannot hold a secret, before the secrets gate
//! (a regex alternation) runs. Almost no attribute value holds a secret, and on short values
//! the regex's own setup costs more than this scan.
//!
//! Every rule with `Everywhere` scope starts its match at a word boundary with one of the
//! anchors below (`bearer`, the API-key prefixes, the `secret=` keywords). The scan looks for an
//! anchor, compared ASCII-case-insensitively, at every position not preceded by an ASCII word
//! byte. It errs on the side of "maybe": a non-ASCII neighbour counts as a boundary, and a value
//! holding a non-ASCII character that case-folds to an ASCII letter (`ſ` → s, the Kelvin sign →
//! k, both used by the `(?i)` rules) is always passed on to the regex.

/// Rule names the anchors were written for; a test fails when the `Everywhere` rules change.
pub const COVERED_RULES: [&str; 3] = ["bearer_token", "api_key", "secret"];

/// Anchors grouped by their (lowercase) first byte.
const fn anchors(first: u8) -> &'static [&'static [u8]] {
    match first {
        // bearer_token
        b'b' => &[b"bearer"],
        // api_key: AKIA, AIza; secret: api[_-]?key, access[_-]?token
        b'a' => &[
            b"akia",
            b"aiza",
            b"api_key",
            b"api-key",
            b"apikey",
            b"access_token",
            b"access-token",
            b"accesstoken",
        ],
        // api_key: sk-; secret: secret
        b's' => &[b"sk-", b"secret"],
        // api_key: gh[pousr]_, github_pat_, glpat-
        b'g' => &[
            b"ghp_",
            b"gho_",
            b"ghu_",
            b"ghs_",
            b"ghr_",
            b"github_pat_",
            b"glpat-",
        ],
        // api_key: xox[abprs]-; secret: x-api-key
        b'x' => &[b"xox", b"x-api-key"],
        // api_key: hf_
        b'h' => &[b"hf_"],
        // secret: password, passwd
        b'p' => &[b"passw"],
        _ => &[],
    }
}

/// Past this length the gate's vectorized literal search is cheaper than this byte loop.
pub const MAX_LEN: usize = 64;

/// Byte classes of the scan: one table load per byte instead of several comparisons.
const NON_WORD: u8 = 0;
const WORD: u8 = 1;
const ANCHOR_START: u8 = 2;
const NON_ASCII: u8 = 3;

static CLASS: [u8; 256] = {
    let mut t = [NON_WORD; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = if b >= 0x80 {
            NON_ASCII
        } else if matches!(
            b.to_ascii_lowercase(),
            b'a' | b'b' | b'g' | b'h' | b'p' | b's' | b'x'
        ) {
            ANCHOR_START
        } else if b.is_ascii_alphanumeric() || b == b'_' {
            WORD
        } else {
            NON_WORD
        };
        c += 1;
    }
    t
};

/// Second bytes of the anchors (any case), one bit each: `PAIR_SECOND[c]` is the bit of `c`.
static PAIR_SECOND: [u16; 256] = {
    const SECONDS: &[u8] = b"ekipchlo-fa";
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < SECONDS.len() {
        let c = SECONDS[i];
        t[c as usize] = 1 << i;
        t[c.to_ascii_uppercase() as usize] = 1 << i;
        i += 1;
    }
    t
};

/// For each first byte (any case), the bits of the second bytes its anchors have: a position
/// can start an anchor only if `PAIR_FIRST[b[i]] & PAIR_SECOND[b[i + 1]] != 0`.
static PAIR_FIRST: [u16; 256] = {
    let mut t = [0u16; 256];
    let firsts = *b"abghpsx";
    let mut f = 0;
    while f < firsts.len() {
        let list = anchors(firsts[f]);
        let mut mask = 0u16;
        let mut a = 0;
        while a < list.len() {
            mask |= PAIR_SECOND[list[a][1] as usize];
            a += 1;
        }
        t[firsts[f] as usize] = mask;
        t[firsts[f].to_ascii_uppercase() as usize] = mask;
        f += 1;
    }
    t
};

/// ASCII word bytes (`[A-Za-z0-9_]`), as the regexes' `\b` sees them.
static IS_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 128 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || b == b'_';
        c += 1;
    }
    t
};

/// False only when no built-in `Everywhere` rule can match `text`.
pub fn may_contain_secret(text: &str) -> bool {
    may_contain_secret_bytes(text.as_bytes())
}

/// `may_contain_secret` on the bytes of a string value, before they are checked as UTF-8.
pub fn may_contain_secret_bytes(b: &[u8]) -> bool {
    if b.is_ascii() { ascii_scan(b) } else { scan(b) }
}

/// The scan of an ASCII value: only a pair at a word boundary that can start an anchor (a table
/// lookup of the pair) is compared with the anchors. Inside a word, where most bytes are, the
/// pair tables are not read.
fn ascii_scan(b: &[u8]) -> bool {
    let mut prev_word = false;
    for i in 1..b.len() {
        let (c, next) = (b[i - 1], b[i]);
        if !prev_word
            && PAIR_FIRST[usize::from(c)] & PAIR_SECOND[usize::from(next)] != 0
            && starts_with_anchor(&b[i - 1..], c.to_ascii_lowercase())
        {
            return true;
        }
        prev_word = IS_WORD[usize::from(c)];
    }
    false
}

/// The byte-class scan, for values with non-ASCII bytes (see the module doc).
fn scan(b: &[u8]) -> bool {
    let mut prev_word = false;
    for (i, &c) in b.iter().enumerate() {
        match CLASS[usize::from(c)] {
            NON_WORD => prev_word = false,
            WORD => prev_word = true,
            ANCHOR_START => {
                if !prev_word && starts_with_anchor(&b[i..], c.to_ascii_lowercase()) {
                    return true;
                }
                prev_word = true;
            }
            _ => {
                if folds_to_ascii(&b[i..]) {
                    return true;
                }
                // Unknown class (letter or punctuation): assume a boundary may follow.
                prev_word = false;
            }
        }
    }
    false
}

fn starts_with_anchor(rest: &[u8], first: u8) -> bool {
    // Byte by byte after the first (which `first` matched), stopping at the first difference:
    // anchors sharing a first byte mostly differ at the second (`akia`, `aiza`, `api_key`).
    // The anchors are lowercase.
    anchors(first).iter().any(|a| {
        rest.len() >= a.len()
            && (a.iter().zip(rest))
                .skip(1)
                .all(|(x, y)| *x == y.to_ascii_lowercase())
    })
}

/// `ſ` (U+017F, folds to `s`) or `K` (U+212A, folds to `k`) starts at `b`.
fn folds_to_ascii(b: &[u8]) -> bool {
    b.starts_with("\u{17F}".as_bytes()) || b.starts_with("\u{212A}".as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::{Scope, everywhere_gate, redact, rules};
    use proptest::prelude::*;

    #[test]
    fn anchors_cover_every_everywhere_rule() {
        let r = rules(&[]).expect("rules");
        let names: Vec<&str> = r
            .iter()
            .filter(|x| x.scope == Scope::Everywhere)
            .map(|x| x.name.as_str())
            .collect();
        assert_eq!(names, COVERED_RULES, "update the prefilter's anchors");
    }

    #[test]
    fn plain_values_are_rejected_and_secrets_kept() {
        for (c, want) in [
            (b'a', ANCHOR_START),
            (b'S', ANCHOR_START),
            (b'k', WORD),
            (b'_', WORD),
        ] {
            assert_eq!(CLASS[usize::from(c)], want);
        }
        assert_eq!(CLASS[usize::from(b'-')], NON_WORD);
        assert_eq!(CLASS[0xC5], NON_ASCII);
        for s in [
            "gpt-4o-mini-2024-07-18",
            "api.openai.com",
            "opentelemetry.util.genai.handler",
            "8f0c2a54-0a8e-4b1c-9b7e-3f1d6c1e2a90",
        ] {
            assert!(!may_contain_secret(s), "{s}");
        }
        for s in [
            "Authorization: Bearer abcdefghijk",
            "key sk-proj-ABCDEFGHIJKLMNOPQRSTUV",
            "x-api-key: 0123456789",
            "PASSWORD=hunter22",
            "\u{17F}ecret=abcdefgh",
            "api_\u{212A}ey=abcdefgh",
            "é-secret=abcdefgh",
        ] {
            assert!(may_contain_secret(s), "{s}");
        }
    }

    fn alphabet() -> impl Strategy<Value = String> {
        // Anchor pieces, separators, case variants and the two non-ASCII folds.
        let piece = prop_oneof![
            Just("bearer ".to_string()),
            Just("BeArEr\t".to_string()),
            Just("sk-".to_string()),
            Just("sk-proj-".to_string()),
            Just("AKIA".to_string()),
            Just("AIza".to_string()),
            Just("ghp_".to_string()),
            Just("github_pat_".to_string()),
            Just("xoxb-".to_string()),
            Just("glpat-".to_string()),
            Just("hf_".to_string()),
            Just("api_key".to_string()),
            Just("Api-Key".to_string()),
            Just("x-api-key".to_string()),
            Just("secret".to_string()),
            Just("SECRET".to_string()),
            Just("passwd".to_string()),
            Just("password".to_string()),
            Just("access_token".to_string()),
            Just("\u{17F}".to_string()),
            Just("\u{212A}".to_string()),
            Just("é".to_string()),
            Just("—".to_string()),
            "[A-Za-z0-9]{1,24}",
            "[ =:\"'_./-]{1,3}",
        ];
        prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
    }

    #[test]
    fn every_anchor_passes_the_pair_tables() {
        for first in *b"abghpsx" {
            for a in anchors(first) {
                for (c0, c1) in [
                    (a[0], a[1]),
                    (a[0].to_ascii_uppercase(), a[1].to_ascii_uppercase()),
                ] {
                    assert!(
                        PAIR_FIRST[usize::from(c0)] & PAIR_SECOND[usize::from(c1)] != 0,
                        "{}",
                        String::from_utf8_lossy(a)
                    );
                }
            }
        }
        assert_eq!(PAIR_FIRST[usize::from(b'q')], 0);
    }

    #[test]
    fn anchors_are_lowercase_and_longer_than_a_pair() {
        for first in *b"abghpsx" {
            for a in anchors(first) {
                assert!(a.len() > 2 && a[0] == first, "{a:?}");
                assert_eq!(a.to_ascii_lowercase(), *a);
            }
        }
    }

    proptest! {
        /// On ASCII text the pair-table scan decides exactly as the byte-class scan.
        #[test]
        fn ascii_scan_agrees_with_the_class_scan(text in alphabet()) {
            if text.is_ascii() {
                prop_assert_eq!(ascii_scan(text.as_bytes()), scan(text.as_bytes()), "{:?}", text);
            }
        }

        /// Comparing the second byte first changes no answer.
        #[test]
        fn anchor_test_agrees_with_a_plain_comparison(text in alphabet()) {
            let b = text.as_bytes();
            for i in 0..b.len() {
                let first = b[i].to_ascii_lowercase();
                let plain = anchors(first)
                    .iter()
                    .any(|a| b.len() - i >= a.len() && b[i..i + a.len()].eq_ignore_ascii_case(a));
                prop_assert_eq!(starts_with_anchor(&b[i..], first), plain, "{:?} at {}", text, i);
            }
        }

        /// A value the prefilter rejects is never matched by the gate nor changed by redaction.
        #[test]
        fn rejected_values_never_match(text in alphabet()) {
            let r = rules(&[]).expect("rules");
            let gate = everywhere_gate(&r).expect("gate");
            if !may_contain_secret(&text) {
                prop_assert!(!gate.is_match(&text), "{text:?}");
                prop_assert!(redact(&text, &r, false).is_none(), "{text:?}");
            }
        }
    }
}
