//! JSON text rewritten in the exact form PostgreSQL prints a `jsonb` value.
//!
//! PostgreSQL does not keep the text of a `jsonb` value: it parses it and prints it back
//! normalized — object keys sorted (shorter first, then bytewise) with the last of
//! duplicate keys kept, `", "` and `": "` between items, strings decoded and re-escaped
//! (only `"`, `\`, and control characters; `\u00e9` becomes `é`), numbers as `numeric`
//! prints them (`1.50` stays `1.50`, `1e3` becomes `1000`, `-0` becomes `0`).
//!
//! The copy sends that normalized text, so what PostgreSQL stores reads back byte for byte
//! as what was sent and the verification compares bytes instead of parsing every document
//! twice (that parsing was a fifth of the copy's CPU on embeddings stored as JSON lists).
//! Should this writer ever differ from PostgreSQL on some input, the table's checksums
//! differ and the verification compares that table again by value (see `verify`): a
//! difference here costs time, never a wrong verdict.
//!
//! The parser accepts exactly RFC 8259 JSON, as PostgreSQL's does.

/// Why a text is not storable as `jsonb`.
#[derive(Debug, PartialEq, Eq)]
pub enum JsonError {
    /// Not valid JSON; the message says where and why.
    Invalid(String),
    /// Valid JSON holding `\u0000`, which `jsonb` cannot store.
    Nul,
}

const OVERFLOW: &str = "a number beyond what PostgreSQL's numeric holds";

/// Nesting deeper than this is refused (as the JSON parser used before did).
const MAX_DEPTH: usize = 512;

/// Parse `text` and append its normalized `jsonb` text to `out`. With `strip_nul`, every
/// `\u0000` is left out of strings and keys instead of failing.
pub fn normalize(text: &str, strip_nul: bool, out: &mut Vec<u8>) -> Result<(), JsonError> {
    let start = out.len();
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
        strip_nul,
        saw_nul: false,
        depth: 0,
    };
    let r = p.document(out);
    if r.is_err() || p.saw_nul {
        out.truncate(start);
    }
    r?;
    if p.saw_nul {
        return Err(JsonError::Nul);
    }
    Ok(())
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
    strip_nul: bool,
    saw_nul: bool,
    depth: usize,
}

impl Parser<'_> {
    fn fail<T>(&self, what: &str) -> Result<T, JsonError> {
        Err(JsonError::Invalid(format!("{what} at byte {}", self.at)))
    }

    fn skip_ws(&mut self) {
        let s = self.s;
        let mut i = self.at;
        while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        self.at = i;
    }

    fn document(&mut self, out: &mut Vec<u8>) -> Result<(), JsonError> {
        self.value(out)?;
        self.skip_ws();
        if self.at != self.s.len() {
            return self.fail("unexpected text after the JSON value");
        }
        Ok(())
    }

    fn value(&mut self, out: &mut Vec<u8>) -> Result<(), JsonError> {
        self.skip_ws();
        match self.s.get(self.at) {
            Some(b'{') => self.object(out),
            Some(b'[') => self.array(out),
            Some(b'"') => {
                let mut text = Vec::new();
                self.string(&mut text)?;
                escape(&text, out);
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => self.number(out),
            Some(b't') => self.literal(b"true", out),
            Some(b'f') => self.literal(b"false", out),
            Some(b'n') => self.literal(b"null", out),
            Some(_) => self.fail("unexpected character"),
            None => self.fail("unexpected end"),
        }
    }

    fn literal(&mut self, word: &[u8], out: &mut Vec<u8>) -> Result<(), JsonError> {
        if self.s[self.at..].starts_with(word) {
            self.at += word.len();
            out.extend_from_slice(word);
            Ok(())
        } else {
            self.fail("invalid literal")
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.fail("nested too deeply");
        }
        self.at += 1;
        Ok(())
    }

    fn array(&mut self, out: &mut Vec<u8>) -> Result<(), JsonError> {
        self.enter()?;
        out.push(b'[');
        self.skip_ws();
        if self.s.get(self.at) == Some(&b']') {
            self.at += 1;
        } else {
            loop {
                self.value(out)?;
                self.skip_ws();
                match self.s.get(self.at) {
                    Some(b',') => out.extend_from_slice(b", "),
                    Some(b']') => break,
                    _ => return self.fail("expected , or ] in an array"),
                }
                self.at += 1;
            }
            self.at += 1;
        }
        out.push(b']');
        self.depth -= 1;
        Ok(())
    }

    fn object(&mut self, out: &mut Vec<u8>) -> Result<(), JsonError> {
        self.enter()?;
        // Members are written to `buf` as they come, then emitted in jsonb's key order.
        let mut buf = Vec::new();
        let mut members: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)> = Vec::new();
        self.skip_ws();
        if self.s.get(self.at) == Some(&b'}') {
            self.at += 1;
        } else {
            loop {
                self.skip_ws();
                if self.s.get(self.at) != Some(&b'"') {
                    return self.fail("expected a key in an object");
                }
                let k = buf.len();
                self.string(&mut buf)?;
                let key = k..buf.len();
                self.skip_ws();
                if self.s.get(self.at) != Some(&b':') {
                    return self.fail("expected : after a key");
                }
                self.at += 1;
                let v = buf.len();
                self.value(&mut buf)?;
                members.push((key, v..buf.len()));
                self.skip_ws();
                match self.s.get(self.at) {
                    Some(b',') => {}
                    Some(b'}') => break,
                    _ => return self.fail("expected , or } in an object"),
                }
                self.at += 1;
            }
            self.at += 1;
        }
        // Shorter keys first, then bytewise; a stable sort keeps duplicates in input order,
        // and jsonb keeps the last of them.
        members.sort_by(|a, b| {
            let (ka, kb) = (&buf[a.0.clone()], &buf[b.0.clone()]);
            ka.len().cmp(&kb.len()).then_with(|| ka.cmp(kb))
        });
        out.push(b'{');
        let mut first = true;
        for (i, (key, value)) in members.iter().enumerate() {
            if members
                .get(i + 1)
                .is_some_and(|next| buf[next.0.clone()] == buf[key.clone()])
            {
                continue;
            }
            if !first {
                out.extend_from_slice(b", ");
            }
            first = false;
            escape(&buf[key.clone()], out);
            out.extend_from_slice(b": ");
            out.extend_from_slice(&buf[value.clone()]);
        }
        out.push(b'}');
        self.depth -= 1;
        Ok(())
    }

    /// A string's decoded UTF-8 bytes, appended to `text`.
    fn string(&mut self, text: &mut Vec<u8>) -> Result<(), JsonError> {
        self.at += 1; // the opening quote
        loop {
            let run = self.at;
            while let Some(&c) = self.s.get(self.at) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.at += 1;
            }
            text.extend_from_slice(&self.s[run..self.at]);
            match self.s.get(self.at) {
                Some(b'"') => {
                    self.at += 1;
                    return Ok(());
                }
                Some(b'\\') => self.escape_sequence(text)?,
                Some(_) => return self.fail("a control character must be escaped in a string"),
                None => return self.fail("unterminated string"),
            }
        }
    }

    fn escape_sequence(&mut self, text: &mut Vec<u8>) -> Result<(), JsonError> {
        let c = self.s.get(self.at + 1).copied();
        self.at += 2;
        let plain = match c {
            Some(b'"') => b'"',
            Some(b'\\') => b'\\',
            Some(b'/') => b'/',
            Some(b'b') => 8,
            Some(b'f') => 12,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'u') => {
                let mut code = self.hex4()?;
                if (0xD800..0xDC00).contains(&code) {
                    if self.s.get(self.at..self.at + 2) != Some(b"\\u") {
                        return self.fail("a high surrogate must be followed by a low one");
                    }
                    self.at += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return self.fail("a high surrogate must be followed by a low one");
                    }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                } else if (0xDC00..0xE000).contains(&code) {
                    return self.fail("a low surrogate must follow a high one");
                }
                if code == 0 {
                    if !self.strip_nul {
                        self.saw_nul = true;
                    }
                    return Ok(());
                }
                let ch = char::from_u32(code).ok_or(JsonError::Invalid(format!(
                    "invalid \\u escape at byte {}",
                    self.at
                )))?;
                let mut b = [0; 4];
                text.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                return Ok(());
            }
            _ => return self.fail("invalid escape sequence"),
        };
        text.push(plain);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let Some(h) = self.s.get(self.at..self.at + 4) else {
            return self.fail("a \\u escape needs four hex digits");
        };
        let mut code = 0;
        for &c in h {
            let d = (c as char).to_digit(16);
            match d {
                Some(d) => code = code * 16 + d,
                None => return self.fail("a \\u escape needs four hex digits"),
            }
        }
        self.at += 4;
        Ok(code)
    }

    /// A number, printed as PostgreSQL's `numeric` prints it.
    fn number(&mut self, out: &mut Vec<u8>) -> Result<(), JsonError> {
        let negative = self.s[self.at] == b'-';
        if negative {
            self.at += 1;
        }
        let int = self.at;
        match self.s.get(self.at) {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return self.fail("invalid number"),
        }
        let int = int..self.at;
        let mut frac = self.at..self.at;
        if self.s.get(self.at) == Some(&b'.') {
            self.at += 1;
            let f = self.at;
            self.skip_digits();
            if self.at == f {
                return self.fail("invalid number");
            }
            frac = f..self.at;
        }
        let mut exponent: i64 = 0;
        if let Some(b'e' | b'E') = self.s.get(self.at) {
            self.at += 1;
            let sign = match self.s.get(self.at) {
                Some(b'-') => {
                    self.at += 1;
                    -1
                }
                Some(b'+') => {
                    self.at += 1;
                    1
                }
                _ => 1,
            };
            let e = self.at;
            self.skip_digits();
            if self.at == e {
                return self.fail("invalid number");
            }
            match std::str::from_utf8(&self.s[e..self.at])
                .ok()
                .and_then(|d| d.parse::<i64>().ok())
                .filter(|&d| d <= 1_000_000)
            {
                Some(d) => exponent = sign * d,
                None => return self.fail(OVERFLOW),
            }
        }
        let written = int.start..frac.end.max(int.end);
        if self.at == written.end && int.len() <= 131_072 && frac.len() <= 16_383 {
            // The common case (every number of an embedding): printed as written, within
            // numeric's limits whatever its digits; only a negative zero loses its sign.
            let start = if negative { int.start - 1 } else { int.start };
            if negative
                && self.s[written.clone()]
                    .iter()
                    .all(|&d| d == b'0' || d == b'.')
            {
                out.extend_from_slice(&self.s[written]);
            } else {
                out.extend_from_slice(&self.s[start..self.at]);
            }
            return Ok(());
        }
        // numeric's limits: 131072 digits before the point, 16383 after.
        let first = self.s[int.start..frac.end]
            .iter()
            .filter(|d| d.is_ascii_digit())
            .position(|&d| d != b'0');
        if let Some(first) = first {
            // Digits before the point, counted from the first one that is not zero.
            let point = int.len() as i64 - first as i64 + exponent;
            if point > 131_072 {
                return self.fail(OVERFLOW);
            }
        }
        if frac.len() as i64 - exponent > 16_383 {
            return self.fail(OVERFLOW);
        }
        numeric_text(negative, &self.s[int], &self.s[frac.clone()], exponent, out);
        Ok(())
    }

    fn skip_digits(&mut self) {
        // A local index: the loop stays in registers (this is most of an embedding's bytes).
        let s = self.s;
        let mut i = self.at;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        self.at = i;
    }
}

/// `numeric`'s text of `[-]int.frac e exponent`: no exponent, no leading zeros, as many
/// fraction digits as written minus the exponent (at least none), no negative zero.
fn numeric_text(negative: bool, int: &[u8], frac: &[u8], exponent: i64, out: &mut Vec<u8>) {
    let zero = int.iter().chain(frac).all(|&d| d == b'0');
    if exponent == 0 {
        // As written (JSON has no leading zeros), only without a negative zero's sign.
        if negative && !zero {
            out.push(b'-');
        }
        out.extend_from_slice(int);
        if !frac.is_empty() {
            out.push(b'.');
            out.extend_from_slice(frac);
        }
        return;
    }
    let digits: Vec<u8> = int.iter().chain(frac).copied().collect();
    // Where the decimal point falls within `digits`.
    let point = int.len() as i64 + exponent;
    let scale = (frac.len() as i64 - exponent).max(0) as usize;
    if negative && !zero {
        out.push(b'-');
    }
    let int_start = out.len();
    if point <= 0 {
        out.push(b'0');
    } else {
        let p = point as usize;
        for i in 0..p {
            out.push(digits.get(i).copied().unwrap_or(b'0'));
        }
    }
    // Leading zeros of the integer part go, one zero stays.
    let lead = out[int_start..]
        .iter()
        .take_while(|&&d| d == b'0')
        .count()
        .min(out.len() - int_start - 1);
    out.drain(int_start..int_start + lead);
    if scale > 0 {
        out.push(b'.');
        for k in 0..scale as i64 {
            let i = point + k;
            out.push(if i < 0 {
                b'0'
            } else {
                digits.get(i as usize).copied().unwrap_or(b'0')
            });
        }
    }
}

/// A string as PostgreSQL's `escape_json` writes it.
fn escape(text: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in text {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c if c < 0x20 => {
                out.extend_from_slice(format!("\\u{c:04x}").as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        let mut out = Vec::new();
        normalize(s, false, &mut out).unwrap_or_else(|e| panic!("{s}: {e:?}"));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn layout_and_key_order_are_postgresqls() {
        assert_eq!(
            norm(r#" {"bb":1,"a":[1,2,{}],"c":{"z":null,"y":true}, "b" : false} "#),
            r#"{"a": [1, 2, {}], "b": false, "c": {"y": true, "z": null}, "bb": 1}"#
        );
        assert_eq!(norm("[]"), "[]");
        assert_eq!(norm(r#""x""#), r#""x""#);
        // The last of duplicate keys is kept.
        assert_eq!(norm(r#"{"a":1,"b":2,"a":3}"#), r#"{"a": 3, "b": 2}"#);
    }

    #[test]
    fn numbers_print_as_numeric() {
        for (input, pg) in [
            ("0", "0"),
            ("-0", "0"),
            ("-0.0", "0.0"),
            ("1.50", "1.50"),
            ("1e3", "1000"),
            ("1.5E+2", "150"),
            ("1.50e1", "15.0"),
            ("12e-1", "1.2"),
            ("1.5e-3", "0.0015"),
            ("-0.790064", "-0.790064"),
            ("0.000e5", "0"),
            ("100e-2", "1.00"),
            ("0.0001e-2", "0.000001"),
            ("1e0", "1"),
            ("-1.25E0", "-1.25"),
            ("-0e0", "0"),
            ("-0.00", "0.00"),
            ("-10", "-10"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
        ] {
            assert_eq!(norm(input), pg, "{input}");
        }
    }

    #[test]
    fn strings_are_decoded_and_escaped_as_postgresql_does() {
        assert_eq!(
            norm(r#""caf\u00e9 \/ \ud83d\ude00 \u001f \"q\" \\ \n\t""#),
            "\"café / 😀 \\u001f \\\"q\\\" \\\\ \\n\\t\""
        );
    }

    #[test]
    fn invalid_json_and_nul_are_refused() {
        for bad in [
            "",
            "{",
            "[1,]",
            "01",
            "1.",
            "-",
            "+1",
            "NaN",
            "'a'",
            "{\"a\" 1}",
            "[1] x",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"a\u{1}\"",
            "tru",
            "1e200000",
            "[1E-16384]",
        ] {
            let mut out = b"kept".to_vec();
            assert!(
                matches!(normalize(bad, false, &mut out), Err(JsonError::Invalid(_))),
                "{bad:?}"
            );
            assert_eq!(out, b"kept");
        }
        let mut out = Vec::new();
        assert_eq!(
            normalize(r#"{"k\u0000":"a\u0000b"}"#, false, &mut out),
            Err(JsonError::Nul)
        );
        normalize(r#"{"k\u0000":"a\u0000b"}"#, true, &mut out).unwrap();
        assert_eq!(out, br#"{"k": "ab"}"#);
    }
}
