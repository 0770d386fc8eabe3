//! A small JSON reader for strategy parameters, behind [`parse_params`](crate::parse_params).
//!
//! Parameters cross the boundary as JSON at create and update time only, but the parser is
//! compiled into every WASM module, and the host compiles modules on load and on every hot
//! reload. `serde_json` together with the float formatting its error messages pull in made
//! up about half of a strategy module's code, and compile time grows with code size. This
//! reader implements the same grammar (RFC 8259) as a `serde` [`Deserializer`](de::Deserializer)
//! in a fraction of the code:
//!
//! - numbers: integers become `u64` (or `i64` when negative), anything with a fraction or an
//!   exponent, `-0` and integers out of range become `f64`, correctly rounded (`str::parse`);
//!   a number too large for `f64` is an error;
//! - strings: all escapes including surrogate pairs; raw control characters are refused;
//! - nesting is limited to [`MAX_DEPTH`] levels; only whitespace may follow the value.
//!
//! Error messages follow `serde`'s wording (`unknown field `x`, expected one of ...`) with the
//! position appended as `at line L column C`. A float that has the wrong type is described as
//! "floating point number" without its value, so that no float formatting code is linked.

use std::fmt::{self, Display};

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Expected, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, Visitor,
};

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// A parse or type error, with the byte offset where it was found.
#[derive(Debug)]
pub struct Error {
    message: String,
    /// Line and column (1-based) of the byte where the problem was found, once known.
    at: Option<(usize, usize)>,
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, column)) => write!(f, "{} at line {line} column {column}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Self {
            message: msg.to_string(),
            at: None,
        }
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        de::Error::custom(format_args!(
            "invalid type: {}, expected {exp}",
            Describe(unexp)
        ))
    }

    fn invalid_value(unexp: Unexpected<'_>, exp: &dyn Expected) -> Self {
        de::Error::custom(format_args!(
            "invalid value: {}, expected {exp}",
            Describe(unexp)
        ))
    }
}

/// `serde`'s description of an unexpected value, but without formatting floats.
struct Describe<'a>(Unexpected<'a>);

impl Display for Describe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Unexpected::Bool(b) => write!(f, "boolean `{b}`"),
            Unexpected::Unsigned(n) => write!(f, "integer `{n}`"),
            Unexpected::Signed(n) => write!(f, "integer `{n}`"),
            Unexpected::Float(_) => f.write_str("floating point number"),
            Unexpected::Char(c) => write!(f, "character `{c}`"),
            Unexpected::Str(s) => write!(f, "string \"{s}\""),
            Unexpected::Bytes(_) => f.write_str("byte array"),
            Unexpected::Unit => f.write_str("null"),
            Unexpected::Option => f.write_str("Option value"),
            Unexpected::NewtypeStruct => f.write_str("newtype struct"),
            Unexpected::Seq => f.write_str("sequence"),
            Unexpected::Map => f.write_str("map"),
            Unexpected::Enum => f.write_str("enum"),
            Unexpected::UnitVariant => f.write_str("unit variant"),
            Unexpected::NewtypeVariant => f.write_str("newtype variant"),
            Unexpected::TupleVariant => f.write_str("tuple variant"),
            Unexpected::StructVariant => f.write_str("struct variant"),
            Unexpected::Other(other) => f.write_str(other),
        }
    }
}

/// Deserialize a `T` from the JSON document in `bytes`.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let mut de = Deserializer {
        input: bytes,
        pos: 0,
        depth: 0,
    };
    let result = T::deserialize(&mut de).and_then(|value| {
        de.skip_whitespace();
        if de.pos < de.input.len() {
            Err(de.error("trailing characters"))
        } else {
            Ok(value)
        }
    });
    result.map_err(|mut e| {
        if e.at.is_none() {
            e.at = Some(de.line_column());
        }
        e
    })
}

struct Deserializer<'de> {
    input: &'de [u8],
    pos: usize,
    depth: usize,
}

/// A parsed number, as `serde_json` classifies it.
enum Number {
    Unsigned(u64),
    Signed(i64),
    Float(f64),
}

/// The start of a value: see [`Deserializer::next_token`].
enum Token<'de> {
    Null,
    Bool(bool),
    Text(Text<'de>),
    Number(Number),
    /// After `[`.
    Seq,
    /// After `{`.
    Map,
}

/// A parsed string: borrowed from the input when it has no escapes.
enum Text<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl<'de> Deserializer<'de> {
    fn line_column(&self) -> (usize, usize) {
        let before = &self.input[..self.pos.min(self.input.len())];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        (line, before.len() - line_start + 1)
    }

    #[cold]
    #[inline(never)]
    fn error(&self, message: &str) -> Error {
        Error {
            message: message.to_owned(),
            at: Some(self.line_column()),
        }
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The next byte after whitespace, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.input.get(self.pos).copied()
    }

    fn next_byte(&mut self) -> Option<u8> {
        let b = self.input.get(self.pos).copied();
        self.pos += usize::from(b.is_some());
        b
    }

    fn expect_literal(&mut self, literal: &[u8]) -> Result<(), Error> {
        if self.input[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            Ok(())
        } else {
            Err(self.error("expected value"))
        }
    }

    #[inline(never)]
    fn parse_number(&mut self) -> Result<Number, Error> {
        let start = self.pos;
        let negative = self.input.get(self.pos) == Some(&b'-');
        self.pos += usize::from(negative);
        let int_start = self.pos;
        match self.input.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(self.error("invalid number")),
        }
        if let Some(b'0'..=b'9') = self.input.get(self.pos) {
            return Err(self.error("invalid number"));
        }
        let int_end = self.pos;
        let mut float = false;
        if self.input.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !matches!(self.input.get(self.pos), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number"));
            }
            self.skip_digits();
            float = true;
        }
        if let Some(b'e' | b'E') = self.input.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.input.get(self.pos) {
                self.pos += 1;
            }
            if !matches!(self.input.get(self.pos), Some(b'0'..=b'9')) {
                return Err(self.error("invalid number"));
            }
            self.skip_digits();
            float = true;
        }
        if !float {
            // Integers that fit stay integers (and `-0` is a float, as in serde_json).
            let digits = ascii(&self.input[int_start..int_end]);
            if let Ok(n) = digits.parse::<u64>() {
                if !negative {
                    return Ok(Number::Unsigned(n));
                }
                if n != 0 && n <= i64::MIN.unsigned_abs() {
                    return Ok(Number::Signed((n as i64).wrapping_neg()));
                }
            }
        }
        let text = ascii(&self.input[start..self.pos]);
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Number::Float(f)),
            _ => Err(self.error("number out of range")),
        }
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Parse a string; the opening quote is the next byte.
    #[inline(never)]
    fn parse_string(&mut self) -> Result<Text<'de>, Error> {
        let input: &'de [u8] = self.input;
        self.pos += 1;
        // Without escapes the string is one run, borrowed from the input.
        let mut owned: Option<Vec<u8>> = None;
        loop {
            let run_start = self.pos;
            while let Some(&b) = input.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            let run = &input[run_start..self.pos];
            match self.next_byte() {
                Some(b'"') => {
                    let text = match owned {
                        None => std::str::from_utf8(run).map(Text::Borrowed).ok(),
                        Some(mut buf) => {
                            buf.extend_from_slice(run);
                            String::from_utf8(buf).map(Text::Owned).ok()
                        }
                    };
                    return text.ok_or_else(|| self.error("invalid unicode in string"));
                }
                Some(b'\\') => {
                    let escaped = match self.next_byte() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.parse_unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    let buf = owned.get_or_insert_with(Vec::new);
                    buf.extend_from_slice(run);
                    buf.extend_from_slice(escaped.encode_utf8(&mut [0; 4]).as_bytes());
                }
                Some(_) => {
                    return Err(self.error("control character found while parsing a string"));
                }
                None => return Err(self.error("EOF while parsing a string")),
            }
        }
    }

    /// The character of a `\uXXXX` escape (the `\u` is consumed), joining surrogate pairs.
    fn parse_unicode_escape(&mut self) -> Result<char, Error> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.next_byte() != Some(b'\\') || self.next_byte() != Some(b'u') {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone trailing surrogate in hex escape")),
            c => c,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))
    }

    fn hex4(&mut self) -> Result<u32, Error> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = self
                .next_byte()
                .and_then(|b| char::from(b).to_digit(16))
                .ok_or_else(|| self.error("invalid escape"))?;
            value = value * 16 + digit;
        }
        Ok(value)
    }

    /// Parse the next value as far as a visitor needs: scalars whole, arrays and objects up
    /// to their opening bracket. Not generic, so that it exists once in the module.
    #[inline(never)]
    fn next_token(&mut self) -> Result<Token<'de>, Error> {
        Ok(match self.peek() {
            Some(b'n') => {
                self.expect_literal(b"null")?;
                Token::Null
            }
            Some(b't') => {
                self.expect_literal(b"true")?;
                Token::Bool(true)
            }
            Some(b'f') => {
                self.expect_literal(b"false")?;
                Token::Bool(false)
            }
            Some(b'"') => Token::Text(self.parse_string()?),
            Some(b'-' | b'0'..=b'9') => Token::Number(self.parse_number()?),
            Some(b'[') => {
                self.enter()?;
                Token::Seq
            }
            Some(b'{') => {
                self.enter()?;
                Token::Map
            }
            Some(_) => return Err(self.error("expected value")),
            None => return Err(self.error("EOF while parsing a value")),
        })
    }

    /// Whether the next value is `null` (then consumed).
    #[inline(never)]
    fn null_next(&mut self) -> Result<bool, Error> {
        if self.peek() == Some(b'n') {
            self.expect_literal(b"null")?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Inside an array: whether another element follows (its separator consumed).
    #[inline(never)]
    fn next_element(&mut self, first: bool) -> Result<bool, Error> {
        match self.peek() {
            Some(b']') => return Ok(false),
            Some(b',') if !first => {
                self.pos += 1;
                if self.peek() == Some(b']') {
                    return Err(self.error("trailing comma"));
                }
            }
            Some(_) if first => {}
            Some(_) => return Err(self.error("expected `,` or `]`")),
            None => return Err(self.error("EOF while parsing a list")),
        }
        Ok(true)
    }

    /// Inside an object: whether another entry follows (its separator consumed; the key, a
    /// string, is next).
    #[inline(never)]
    fn next_entry(&mut self, first: bool) -> Result<bool, Error> {
        match self.peek() {
            Some(b'}') => return Ok(false),
            Some(b',') if !first => {
                self.pos += 1;
                match self.peek() {
                    Some(b'"') => {}
                    Some(b'}') => return Err(self.error("trailing comma")),
                    _ => return Err(self.error("key must be a string")),
                }
            }
            Some(b'"') if first => {}
            Some(_) if first => return Err(self.error("key must be a string")),
            Some(_) => return Err(self.error("expected `,` or `}`")),
            None => return Err(self.error("EOF while parsing an object")),
        }
        Ok(true)
    }

    /// The `:` between a key and its value.
    #[inline(never)]
    fn colon(&mut self) -> Result<(), Error> {
        match self.peek() {
            Some(b':') => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(self.error("expected `:`")),
            None => Err(self.error("EOF while parsing an object")),
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("recursion limit exceeded"));
        }
        self.pos += 1;
        Ok(())
    }

    /// After a visitor took what it wanted from an array or object: the closing bracket.
    #[inline(never)]
    fn leave(&mut self, close: u8) -> Result<(), Error> {
        self.depth -= 1;
        match self.peek() {
            Some(b) if b == close => {
                self.pos += 1;
                Ok(())
            }
            Some(b',') => Err(self.error("trailing characters")),
            Some(_) => Err(self.error("expected `,` or closing bracket")),
            None => Err(self.error("EOF while parsing a list or object")),
        }
    }
}

/// Text of bytes already checked to be ASCII digits and signs.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.next_token()? {
            Token::Null => visitor.visit_unit(),
            Token::Bool(b) => visitor.visit_bool(b),
            Token::Text(Text::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Token::Text(Text::Owned(s)) => visitor.visit_string(s),
            Token::Number(Number::Unsigned(n)) => visitor.visit_u64(n),
            Token::Number(Number::Signed(n)) => visitor.visit_i64(n),
            Token::Number(Number::Float(f)) => visitor.visit_f64(f),
            Token::Seq => {
                let value = visitor.visit_seq(Elements {
                    de: &mut *self,
                    first: true,
                })?;
                self.leave(b']')?;
                Ok(value)
            }
            Token::Map => {
                let value = visitor.visit_map(Entries {
                    de: &mut *self,
                    first: true,
                })?;
                self.leave(b'}')?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.null_next()? {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.null_next()? {
            visitor.visit_unit()
        } else {
            self.deserialize_any(visitor)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    /// Only unit variants, written as strings (`"fixed"`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.peek() {
            Some(b'"') => match self.parse_string()? {
                Text::Borrowed(s) => visitor.visit_enum(s.into_deserializer()),
                Text::Owned(s) => visitor.visit_enum(s.into_deserializer()),
            },
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(de::IgnoredAny)?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// The elements of an array.
struct Elements<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    first: bool,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = Error;

    // One copy per value type, not one per struct field: smaller modules.
    #[inline(never)]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let more = self.de.next_element(self.first)?;
        self.first = false;
        if more {
            seed.deserialize(&mut *self.de).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// The entries of an object.
struct Entries<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    first: bool,
}

impl<'de> MapAccess<'de> for Entries<'_, 'de> {
    type Error = Error;

    // One copy per value type, not one per struct field: smaller modules.
    #[inline(never)]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let more = self.de.next_entry(self.first)?;
        self.first = false;
        if more {
            seed.deserialize(&mut *self.de).map(Some)
        } else {
            Ok(None)
        }
    }

    // One copy per value type, not one per struct field: smaller modules.
    #[inline(never)]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        self.de.colon()?;
        seed.deserialize(&mut *self.de)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::from_slice;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fixed,
        Estimated,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default, deny_unknown_fields)]
    struct Params {
        gamma: Option<f64>,
        levels: u32,
        end_ms: Option<i64>,
        mode: Mode,
        name: String,
        weights: Vec<f64>,
    }

    impl Default for Params {
        fn default() -> Self {
            Self {
                gamma: None,
                levels: 1,
                end_ms: None,
                mode: Mode::Fixed,
                name: String::new(),
                weights: Vec::new(),
            }
        }
    }

    fn params(json: &str) -> Result<Params, String> {
        from_slice(json.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_every_kind_of_field() {
        let p = params(
            " {\"gamma\": 1e-4, \"levels\": 3, \"end_ms\": -1700000000000, \"mode\": \"estimated\",\n\
             \"name\": \"a\\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00\", \"weights\": [0.5, 2, -0.25E+1]}\r\n",
        )
        .unwrap();
        assert_eq!(
            p,
            Params {
                gamma: Some(1e-4),
                levels: 3,
                end_ms: Some(-1_700_000_000_000),
                mode: Mode::Estimated,
                name: "a\"b\\c/d\né😀".into(),
                weights: vec![0.5, 2.0, -2.5],
            }
        );
        assert_eq!(params("{}").unwrap(), Params::default());
        assert_eq!(params("{\"gamma\": null}").unwrap().gamma, None);
    }

    #[test]
    fn floats_are_correctly_rounded() {
        for text in [
            "0.1",
            "0.97",
            "65000.05",
            "1.7976931348623157e308",
            "5e-324",
            "-0.0",
        ] {
            let got: f64 = from_slice(text.as_bytes()).unwrap();
            assert_eq!(
                got.to_bits(),
                text.parse::<f64>().unwrap().to_bits(),
                "{text}"
            );
        }
        let big: f64 = from_slice(b"18446744073709551616").unwrap();
        assert_eq!(big, 18_446_744_073_709_551_616.0);
        let neg_zero: f64 = from_slice(b"-0").unwrap();
        assert!(neg_zero == 0.0 && neg_zero.is_sign_negative());
        assert_eq!(
            from_slice::<i64>(b"-9223372036854775808").unwrap(),
            i64::MIN
        );
        assert_eq!(
            from_slice::<u64>(b"18446744073709551615").unwrap(),
            u64::MAX
        );
    }

    #[test]
    fn reports_problems_with_their_position() {
        let cases: &[(&str, &str)] = &[
            ("{\"h\": 1}", "unknown field `h`, expected one of"),
            (
                "{\"levels\": 1.5}",
                "invalid type: floating point number, expected u32",
            ),
            (
                "{\"levels\": -1}",
                "invalid value: integer `-1`, expected u32",
            ),
            (
                "{\"mode\": \"x\"}",
                "unknown variant `x`, expected `fixed` or `estimated`",
            ),
            ("{\"levels\": 1, \"levels\": 2}", "duplicate field `levels`"),
            ("{\"levels\": 1,}", "trailing comma at line 1 column 14"),
            ("{\"weights\": [1,]}", "trailing comma"),
            (
                "{\"levels\": 1} x",
                "trailing characters at line 1 column 15",
            ),
            ("{\"levels\": 01}", "invalid number"),
            ("{\"levels\": 1.}", "invalid number"),
            ("{\"gamma\": 1e999}", "number out of range"),
            ("{\"name\": \"a\nb\"}", "control character"),
            ("{\"name\": \"\\x\"}", "invalid escape"),
            ("{\"name\": \"\\ud800\"}", "lone leading surrogate"),
            ("{\"name\": \"abc", "EOF while parsing a string"),
            ("{\"levels\" 1}", "expected `:`"),
            ("{levels: 1}", "key must be a string"),
            ("{\"levels\": tru}", "expected value"),
            ("", "EOF while parsing a value"),
            (
                "\"3\"",
                "invalid type: string \"3\", expected struct Params",
            ),
            (
                "{\n\"levels\": \"3\"}",
                "invalid type: string \"3\", expected u32 at line 2",
            ),
        ];
        for (json, want) in cases {
            let err = params(json).unwrap_err();
            assert!(err.contains(want), "{json:?}: {err}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        let err = from_slice::<serde::de::IgnoredAny>(deep.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
    }

    #[test]
    fn agrees_with_serde_json_on_valid_documents() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/strategies");
        let mut docs: Vec<Vec<u8>> = std::fs::read_dir(root)
            .unwrap()
            .map(|entry| std::fs::read(entry.unwrap().path()).unwrap())
            .collect();
        assert!(!docs.is_empty());
        for doc in [
            r#"{"a": [1, -2, 3.25, 1e21, -9223372036854775809, 0.1e-5, true, false, null]}"#,
            r#"["\u0041\u00DF\u6771\uD834\uDD1E", "tab\tnew\nline", "", "\""]"#,
            r#"{"nested": {"deeper": {"deepest": [[], {}, [{}]]}}, "k": "v"}"#,
            "  123  ",
            "-0.0",
            r#""plain""#,
        ] {
            docs.push(doc.as_bytes().to_vec());
        }
        for doc in &docs {
            let ours: serde_json::Value = from_slice(doc).unwrap();
            let reference: serde_json::Value = serde_json::from_slice(doc).unwrap();
            assert_eq!(ours, reference, "{}", String::from_utf8_lossy(doc));
        }
    }

    #[test]
    fn skips_values_it_ignores() {
        #[derive(Deserialize)]
        struct Loose {
            a: u32,
        }
        let json = br#"{"x": {"y": [1, "two", null, true, {"z": -3.5e2}]}, "a": 7}"#;
        assert_eq!(from_slice::<Loose>(json).unwrap().a, 7);
    }
}
