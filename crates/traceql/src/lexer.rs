//! Turns query text into tokens with byte positions.
//!
//! Attribute names are lexed here, not in the parser, because their end is lexical: a name runs
//! after its scope prefix until whitespace or one of `{ } ( ) = ~ ! < > & | ^ ,`, and quoted
//! segments (`span."a b".c`) may hold those characters.

use crate::ast::{Attribute, AttributeScope};
use crate::error::ParseError;

/// One token of a query.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Pipe,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Re,
    NRe,
    And,
    Or,
    Not,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Desc,
    Anc,
    Tilde,
    NotChild,
    NotParent,
    NotDesc,
    NotAnc,
    UnionChild,
    UnionParent,
    UnionDesc,
    UnionAnc,
    UnionSibling,
    /// A bare word: keyword, function, intrinsic or hint name.
    Ident(String),
    /// `scope:name`, e.g. `span:duration`.
    Colon(String, String),
    Attr(Attribute),
    Str(String),
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        let s = match self {
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Pipe => "|",
            Tok::Eq => "=",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Re => "=~",
            Tok::NRe => "!~",
            Tok::And => "&&",
            Tok::Or => "||",
            Tok::Not => "!",
            Tok::Add => "+",
            Tok::Sub => "-",
            Tok::Mul => "*",
            Tok::Div => "/",
            Tok::Mod => "%",
            Tok::Pow => "^",
            Tok::Desc => ">>",
            Tok::Anc => "<<",
            Tok::Tilde => "~",
            Tok::NotChild => "!>",
            Tok::NotParent => "!<",
            Tok::NotDesc => "!>>",
            Tok::NotAnc => "!<<",
            Tok::UnionChild => "&>",
            Tok::UnionParent => "&<",
            Tok::UnionDesc => "&>>",
            Tok::UnionAnc => "&<<",
            Tok::UnionSibling => "&~",
            Tok::Ident(s) => return format!("\"{s}\""),
            Tok::Colon(a, b) => return format!("\"{a}:{b}\""),
            Tok::Attr(a) => return format!("attribute \"{a}\""),
            Tok::Str(_) => "string",
            Tok::Int(i) => return format!("\"{i}\""),
            Tok::Float(f) => return format!("\"{f}\""),
            Tok::Duration(_) => "duration",
            Tok::Eof => return "end of query".to_string(),
        };
        format!("\"{s}\"")
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned {
    pub tok: Tok,
    pub pos: usize,
}

/// Characters that end an unquoted attribute name.
fn ends_name(c: char) -> bool {
    c.is_whitespace() || "{}()=~!<>&|^,".contains(c)
}

const SCOPES: &[(&str, AttributeScope)] = &[
    ("span", AttributeScope::Span),
    ("resource", AttributeScope::Resource),
    ("event", AttributeScope::Event),
    ("link", AttributeScope::Link),
    ("instrumentation", AttributeScope::Instrumentation),
];

/// Lexes the whole query; the last token is always `Eof`.
pub(crate) fn lex(src: &str) -> Result<Vec<Spanned>, ParseError> {
    let mut lx = Lexer { src, pos: 0 };
    let mut out = Vec::new();
    loop {
        lx.skip_ws();
        let pos = lx.pos;
        let tok = lx.next_tok()?;
        let end = tok == Tok::Eof;
        out.push(Spanned { tok, pos });
        if end {
            return Ok(out);
        }
    }
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn err(&self, pos: usize, expected: &str) -> ParseError {
        let found = match self.src[pos..].chars().next() {
            Some(c) => format!("\"{c}\""),
            None => "end of query".to_string(),
        };
        ParseError::new(pos, expected, found)
    }

    fn next_tok(&mut self) -> Result<Tok, ParseError> {
        let Some(c) = self.peek() else {
            return Ok(Tok::Eof);
        };
        if let Some(t) = self.operator() {
            return Ok(t);
        }
        if c == '.' {
            if self.peek2().is_some_and(|d| d.is_ascii_digit()) {
                return self.number();
            }
            self.pos += 1;
            return self.attribute(AttributeScope::None, false);
        }
        if c.is_ascii_digit() {
            return self.number();
        }
        if c == '"' || c == '`' {
            return self.string().map(Tok::Str);
        }
        if c.is_ascii_alphabetic() || c == '_' {
            return self.word();
        }
        Err(self.err(self.pos, "a token"))
    }

    /// Punctuation, longest match first.
    fn operator(&mut self) -> Option<Tok> {
        const OPS: &[(&str, Tok)] = &[
            ("!>>", Tok::NotDesc),
            ("!<<", Tok::NotAnc),
            ("&>>", Tok::UnionDesc),
            ("&<<", Tok::UnionAnc),
            ("&&", Tok::And),
            ("||", Tok::Or),
            ("!=", Tok::Ne),
            ("!~", Tok::NRe),
            ("!>", Tok::NotChild),
            ("!<", Tok::NotParent),
            ("=~", Tok::Re),
            ("<=", Tok::Le),
            (">=", Tok::Ge),
            (">>", Tok::Desc),
            ("<<", Tok::Anc),
            ("&>", Tok::UnionChild),
            ("&<", Tok::UnionParent),
            ("&~", Tok::UnionSibling),
            ("{", Tok::LBrace),
            ("}", Tok::RBrace),
            ("(", Tok::LParen),
            (")", Tok::RParen),
            (",", Tok::Comma),
            ("|", Tok::Pipe),
            ("=", Tok::Eq),
            ("<", Tok::Lt),
            (">", Tok::Gt),
            ("~", Tok::Tilde),
            ("!", Tok::Not),
            ("+", Tok::Add),
            ("-", Tok::Sub),
            ("*", Tok::Mul),
            ("/", Tok::Div),
            ("%", Tok::Mod),
            ("^", Tok::Pow),
        ];
        let rest = self.rest();
        let (text, tok) = OPS.iter().find(|(s, _)| rest.starts_with(s))?;
        self.pos += text.len();
        Some(tok.clone())
    }

    fn word(&mut self) -> Result<Tok, ParseError> {
        let start = self.pos;
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(self.rest().len());
        self.pos += len;
        let word = &self.src[start..self.pos];
        match self.peek() {
            Some('.') => {
                if let Some((_, scope)) = SCOPES.iter().find(|(s, _)| *s == word) {
                    self.pos += 1;
                    return self.attribute(*scope, false);
                }
                if word == "parent" {
                    self.pos += 1;
                    return self.parent_attribute();
                }
                Ok(Tok::Ident(word.to_string()))
            }
            Some(':') => {
                self.pos += 1;
                let name_start = self.pos;
                let len = self
                    .rest()
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(self.rest().len());
                if len == 0 {
                    return Err(self.err(self.pos, "an intrinsic name"));
                }
                self.pos += len;
                Ok(Tok::Colon(
                    word.to_string(),
                    self.src[name_start..self.pos].to_string(),
                ))
            }
            _ => Ok(Tok::Ident(word.to_string())),
        }
    }

    /// After `parent.`: an optional `span.`/`resource.` scope, then the name.
    fn parent_attribute(&mut self) -> Result<Tok, ParseError> {
        for (prefix, scope) in [
            ("span.", AttributeScope::Span),
            ("resource.", AttributeScope::Resource),
        ] {
            if self.rest().starts_with(prefix) {
                self.pos += prefix.len();
                return self.attribute(scope, true);
            }
        }
        self.attribute(AttributeScope::None, true)
    }

    fn attribute(&mut self, scope: AttributeScope, parent: bool) -> Result<Tok, ParseError> {
        let mut name = String::new();
        loop {
            match self.peek() {
                Some('"') => name.push_str(&self.quoted_segment()?),
                Some(c) if !ends_name(c) => {
                    name.push(c);
                    self.pos += c.len_utf8();
                }
                _ => break,
            }
        }
        if name.is_empty() {
            return Err(self.err(self.pos, "an attribute name"));
        }
        Ok(Tok::Attr(Attribute {
            scope,
            parent,
            name,
        }))
    }

    /// `"..."` inside an attribute name: only `\"` and `\\` escapes.
    fn quoted_segment(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err(start, "a closing '\"'")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    match self.peek2() {
                        Some(c @ ('"' | '\\')) => out.push(c),
                        _ => return Err(self.err(self.pos, "\\\" or \\\\")),
                    }
                    self.pos += 2;
                }
                Some(c) => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        let quote = self.peek();
        self.pos += 1;
        if quote == Some('`') {
            let Some(len) = self.rest().find('`') else {
                return Err(self.err(start, "a closing '`'"));
            };
            let s = self.rest()[..len].to_string();
            self.pos += len + 1;
            return Ok(s);
        }
        let mut out = String::new();
        loop {
            match self.peek() {
                None | Some('\n') => return Err(self.err(start, "a closing '\"'")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    self.pos += 1;
                    out.push(self.escape()?);
                }
                Some(c) => {
                    out.push(c);
                    self.pos += c.len_utf8();
                }
            }
        }
    }

    /// A Go string escape, after the backslash.
    fn escape(&mut self) -> Result<char, ParseError> {
        let at = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.err(at, "an escape sequence"));
        };
        self.pos += c.len_utf8();
        let simple = match c {
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            '\\' => Some('\\'),
            '"' => Some('"'),
            '\'' => Some('\''),
            _ => None,
        };
        if let Some(s) = simple {
            return Ok(s);
        }
        let (digits, radix) = match c {
            'x' => (2, 16),
            'u' => (4, 16),
            'U' => (8, 16),
            '0'..='7' => {
                self.pos -= 1;
                (3, 8)
            }
            _ => return Err(self.err(at, "an escape sequence")),
        };
        let text = self.rest().get(..digits).unwrap_or("");
        let code =
            u32::from_str_radix(text, radix).map_err(|_| self.err(at, "an escape sequence"))?;
        self.pos += digits;
        char::from_u32(code).ok_or_else(|| self.err(at, "a valid code point"))
    }

    /// Integer, float or duration (a number directly followed by units, possibly repeated).
    fn number(&mut self) -> Result<Tok, ParseError> {
        let start = self.pos;
        if self.rest().starts_with("0x") || self.rest().starts_with("0X") {
            self.pos += 2;
            let len = self
                .rest()
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(self.rest().len());
            let v = i64::from_str_radix(&self.rest()[..len], 16)
                .map_err(|_| self.err(start, "a number"))?;
            self.pos += len;
            return self.after_number(start).map(|()| Tok::Int(v));
        }
        let (text, is_float) = self.decimal();
        if self.peek().is_some_and(|c| c.is_alphabetic() || c == 'µ') {
            return self.duration(start);
        }
        self.after_number(start)?;
        if is_float {
            let v: f64 = text.parse().map_err(|_| self.err(start, "a number"))?;
            if !v.is_finite() {
                return Err(self.err(start, "a finite number"));
            }
            Ok(Tok::Float(v))
        } else {
            text.parse()
                .map(Tok::Int)
                .map_err(|_| self.err(start, "a number in range"))
        }
    }

    /// A number may not run straight into a name (`3foo`).
    fn after_number(&self, start: usize) -> Result<(), ParseError> {
        match self.peek() {
            Some(c) if c.is_alphanumeric() || c == '_' || c == '.' || c == '"' => {
                Err(self.err(start, "a number"))
            }
            _ => Ok(()),
        }
    }

    /// Digits with optional fraction and exponent; returns the text and whether it is a float.
    fn decimal(&mut self) -> (String, bool) {
        let start = self.pos;
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        self.pos += digits(self.rest());
        let mut is_float = false;
        if self.peek() == Some('.') && self.peek2().is_some_and(|c| c.is_ascii_digit()) {
            is_float = true;
            self.pos += 1;
            self.pos += digits(self.rest());
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            let after = &self.rest()[1..];
            let sign = usize::from(after.starts_with(['+', '-']));
            let n = digits(&after[sign..]);
            if n > 0 {
                is_float = true;
                self.pos += 1 + sign + n;
            }
        }
        (self.src[start..self.pos].to_string(), is_float)
    }

    fn duration(&mut self, start: usize) -> Result<Tok, ParseError> {
        self.pos = start;
        let mut total: f64 = 0.0;
        loop {
            let (text, _) = self.decimal();
            if text.is_empty() {
                break;
            }
            let v: f64 = text.parse().map_err(|_| self.err(start, "a duration"))?;
            let unit = self
                .unit()
                .ok_or_else(|| self.err(self.pos, "a duration unit"))?;
            total += v * unit;
            if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
                break;
            }
        }
        self.after_number(start)?;
        if !total.is_finite() || total.abs() > i64::MAX as f64 {
            return Err(self.err(start, "a duration in range"));
        }
        Ok(Tok::Duration(total.round() as i64))
    }

    /// A duration unit in nanoseconds, longest match.
    fn unit(&mut self) -> Option<f64> {
        const UNITS: &[(&str, f64)] = &[
            ("ns", 1.0),
            ("us", 1e3),
            ("µs", 1e3),
            ("ms", 1e6),
            ("s", 1e9),
            ("m", 60e9),
            ("h", 3600e9),
            ("d", 86400e9),
            ("w", 7.0 * 86400e9),
            ("y", 365.0 * 86400e9),
        ];
        let rest = self.rest();
        let (text, ns) = UNITS.iter().find(|(u, _)| rest.starts_with(u))?;
        self.pos += text.len();
        Some(*ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).expect("lexes").into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn durations_combine_units() {
        assert_eq!(toks("1h2m3s4ms5us6ns")[0], Tok::Duration(3_723_004_005_006));
        assert_eq!(toks("1.5m")[0], Tok::Duration(90_000_000_000));
        assert_eq!(toks("250µs")[0], Tok::Duration(250_000));
    }

    #[test]
    fn attribute_names_stop_at_terminators_and_take_quotes() {
        let t = toks(r#"span.attribute."a \" b".c=1"#);
        let Tok::Attr(a) = &t[0] else { panic!("{t:?}") };
        assert_eq!(a.name, "attribute.a \" b.c");
        assert_eq!(t[1], Tok::Eq);
    }

    #[test]
    fn numbers_and_strings() {
        assert_eq!(toks(".99")[0], Tok::Float(0.99));
        assert_eq!(toks(r#""a\n\x41""#)[0], Tok::Str("a\nA".into()));
        assert!(lex("3foo").is_err());
        assert!(lex("\"open").is_err());
    }

    #[test]
    fn structural_operators_lex_longest_first() {
        assert_eq!(
            toks("!>> &<< &~ !~"),
            vec![
                Tok::NotDesc,
                Tok::UnionAnc,
                Tok::UnionSibling,
                Tok::NRe,
                Tok::Eof
            ]
        );
    }
}
