//! A hand-written parser for `getbotrundata` pages in their common shape, about three times
//! as fast as serde_json's derived one, which was most of an ingest's time.
//!
//! It accepts only what serde_json would accept and decode the same way: strings, integers
//! where the record has integers, booleans, `null`, and other properties whose values are
//! such scalars. Anything else (a nested value, an escaped key, a lone surrogate, a
//! duplicate or missing field, a float for an integer, a page that is not all runs, the
//! end of the text) makes it give up, and the caller parses the page with serde_json as
//! before, which decodes it or says why not. Its keys are matched as packed integers and
//! its strings are borrowed from text already checked as UTF-8 (unescaped, where they have
//! escapes, into an arena that lives as long as the text), which is what makes it fast.

use std::borrow::Cow;

use bumpalo::Bump;

use super::{BotRunRecord, RunRecords};

/// Parses the page at the start of `text` (after any whitespace) into `records` and says
/// where it ends; `None` if it is not in the shape this parser takes (see the module
/// documentation), `records` then holding some of its records.
/// Strings with escapes are unescaped into `arena`.
pub(crate) fn parse_run_page<'a>(
    text: &'a str,
    arena: &'a Bump,
    records: &mut RunRecords<'a>,
) -> Option<usize> {
    let mut c = Cursor {
        text,
        bytes: text.as_bytes(),
        at: 0,
        arena,
        scratch: String::new(),
    };
    c.expect(b'{')?;
    let mut runs = false;
    if !c.eat(b'}') {
        loop {
            let key = c.key()?;
            if key == BOT_RUN_DATA_LIST {
                if runs {
                    return None;
                }
                runs = true;
                c.records(&mut records.0)?;
            } else if key == AUDIT_DATA || key == LOG_DATA {
                // A page with other lists goes as serde_json takes it.
                return None;
            } else {
                c.skip_scalar()?;
            }
            if !c.next_member()? {
                break;
            }
        }
    }
    runs.then_some(c.at)
}

/// Whether `bytes` end inside the JSON value they start with (after whitespace): an object
/// or array they do not close, or a string they cut. False once the value closes, and for
/// a value that is neither object, array nor string (serde_json says what it makes of it).
/// A read that stops inside a page makes the parser above give up at the end of the text;
/// this tells that apart from a page it does not take, so that the page is parsed once
/// more text is in, and not by serde_json only to find the text cut short.
pub(crate) fn ends_inside_value(bytes: &[u8]) -> bool {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        at += 1;
        match b {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return false;
                }
            }
            b'"' => {
                // To the closing quote, past escaped characters.
                loop {
                    let Some(i) = bytes
                        .get(at..)
                        .and_then(|s| memchr::memchr2(b'"', b'\\', s))
                    else {
                        return true;
                    };
                    at += i + 1;
                    if bytes[at - 1] == b'"' {
                        break;
                    }
                    at += 1;
                }
                if depth == 0 {
                    return false;
                }
            }
            b' ' | b'\n' | b'\r' | b'\t' => {}
            _ if depth == 0 => return false,
            _ => {}
        }
    }
    true
}

/// A key packed into an integer: its bytes, little-endian, zeros after them. Keys hold no
/// NUL (unescaped control characters are not JSON), so two keys are equal if and only if
/// their packed forms are; keys longer than 16 bytes are none that matter here.
const fn pack(key: &[u8]) -> u128 {
    let mut packed = 0u128;
    let mut i = 0;
    while i < key.len() {
        packed |= (key[i] as u128) << (8 * i);
        i += 1;
    }
    packed
}

const BOT_RUN_DATA_LIST: Key = Key::Packed(pack(b"botRunDataList"));
const AUDIT_DATA: Key = Key::Packed(pack(b"auditData"));
const LOG_DATA: Key = Key::Packed(pack(b"logData"));
const ID: u128 = pack(b"id");
const USER_NAME: u128 = pack(b"userName");
const FIRST_NAME: u128 = pack(b"firstName");
const LAST_NAME: u128 = pack(b"lastName");
const EMAIL: u128 = pack(b"email");
const HOST_NAME: u128 = pack(b"hostName");
const IP_ADDRESS: u128 = pack(b"iPAddress");
const FILE_NAME: u128 = pack(b"fileName");
const START_TIME: u128 = pack(b"startTime");
const END_TIME: u128 = pack(b"endTime");
const STATUS: u128 = pack(b"status");
const TOTAL_LINES: u128 = pack(b"totalLines");
const TIME_TAKEN: u128 = pack(b"timeTaken");
const SUCCESS_INDICATOR: u128 = pack(b"successIndicator");

/// A key as read: packed if it has 16 bytes or fewer, else only known to be long.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Packed(u128),
    Long,
}

/// The bytes of `x` that are a quote, a backslash or a control character, as their high
/// bits (the tricks of "Bit Twiddling Hacks": a byte is zero, or less than n). Above the
/// lowest of them a byte may be marked wrongly; the lowest is always right.
const fn special_bytes(x: u128) -> u128 {
    const ONES: u128 = u128::from_ne_bytes([1; 16]);
    const HIGH: u128 = ONES << 7;
    let quote = x ^ (ONES * b'"' as u128);
    let backslash = x ^ (ONES * b'\\' as u128);
    ((quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (x.wrapping_sub(ONES * 0x20) & !x))
        & HIGH
}

/// A position in the text being parsed.
struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// Where unescaped strings go: a `String` each took a tenth of the parser's time in
    /// `malloc` and `free`, most records having a backslash in their `fileName`.
    arena: &'a Bump,
    /// Room to unescape a string in before it goes to the arena.
    scratch: String,
}

impl<'a> Cursor<'a> {
    /// Skips JSON whitespace.
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// Takes `byte` after whitespace, if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        self.ws();
        let found = self.bytes.get(self.at) == Some(&byte);
        if found {
            self.at += 1;
        }
        found
    }

    /// Takes `byte` after whitespace, or gives up.
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.eat(byte).then_some(())
    }

    /// After a member or an element: true at a comma (another follows), false at `close`.
    fn next_of(&mut self, close: u8) -> Option<bool> {
        self.ws();
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        match b {
            b',' => Some(true),
            _ if b == close => Some(false),
            _ => None,
        }
    }

    fn next_member(&mut self) -> Option<bool> {
        self.next_of(b'}')
    }

    /// The bytes of a string without escapes that starts at `start`, after its opening
    /// quote; the cursor goes past its closing quote.
    fn string_span_from(&mut self, start: usize) -> Option<(usize, usize)> {
        let end = self.plain_end(start)?;
        if self.bytes[end] != b'"' {
            return None;
        }
        self.at = end + 1;
        Some((start, end))
    }

    /// Where the unescaped text from `from` ends: at a quote or a backslash.
    #[inline(always)]
    fn plain_end(&self, from: usize) -> Option<usize> {
        let mut end = from;
        // Sixteen bytes at a time while none is special.
        while let Some(window) = self.bytes.get(end..end + 16) {
            let special = special_bytes(u128::from_le_bytes(window.try_into().ok()?));
            if special != 0 {
                end += (special.trailing_zeros() / 8) as usize;
                break;
            }
            end += 16;
        }
        loop {
            match *self.bytes.get(end)? {
                b'"' | b'\\' => return Some(end),
                0..0x20 => return None,
                _ => end += 1,
            }
        }
    }

    /// A string value, the cursor at its opening quote: borrowed from the text where it
    /// has no escapes, unescaped into the arena where it has.
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.at + 1;
        let end = self.plain_end(start)?;
        if self.bytes[end] == b'"' {
            self.at = end + 1;
            // Quotes are ASCII, so these are character boundaries of the checked text.
            return self.text.get(start..end).map(Cow::Borrowed);
        }
        self.unescaped(start, end).map(Cow::Borrowed)
    }

    /// The string from `start`, its first backslash at `end`, unescaped; the cursor goes
    /// past its closing quote.
    #[inline(never)]
    fn unescaped(&mut self, start: usize, mut end: usize) -> Option<&'a str> {
        let mut owned = std::mem::take(&mut self.scratch);
        owned.clear();
        let mut from = start;
        loop {
            owned.push_str(self.text.get(from..end)?);
            if self.bytes[end] == b'"' {
                self.at = end + 1;
                let unescaped = self.arena.alloc_str(&owned);
                self.scratch = owned;
                return Some(unescaped);
            }
            // A backslash: one escape.
            let escaped = *self.bytes.get(end + 1)?;
            from = end + 2;
            owned.push(match escaped {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let (c, next) = self.unicode_escape(end)?;
                    from = next;
                    c
                }
                _ => return None,
            });
            end = self.plain_end(from)?;
        }
    }

    /// The character of the `\uXXXX` escape at `at` (a pair of them for a character
    /// outside the Basic Multilingual Plane) and where the text goes on. A lone surrogate
    /// gives up, as serde_json refuses it.
    fn unicode_escape(&self, at: usize) -> Option<(char, usize)> {
        let hex = |at: usize| -> Option<u32> {
            let digits = self.bytes.get(at + 2..at + 6)?;
            if self.bytes[at] != b'\\' || self.bytes[at + 1] != b'u' {
                return None;
            }
            digits
                .iter()
                .try_fold(0u32, |n, &d| Some(n * 16 + char::from(d).to_digit(16)?))
        };
        let first = hex(at)?;
        match first {
            0xD800..=0xDBFF => {
                let second = hex(at + 6)?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return None;
                }
                let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                Some((char::from_u32(c)?, at + 12))
            }
            0xDC00..=0xDFFF => None,
            _ => Some((char::from_u32(first)?, at + 6)),
        }
    }

    /// A member's key and its colon. Inlined: returned through memory, the key's two
    /// halves stalled the 16-byte load that compares it (`perf annotate`).
    #[inline(always)]
    fn key(&mut self) -> Option<Key> {
        self.expect(b'"')?;
        let start = self.at;
        let key = match self.bytes.get(start..start + 16) {
            // Sixteen bytes at once where the text has them: the key ends at the first
            // special byte among them, which must be its closing quote.
            Some(window) => {
                let window = u128::from_le_bytes(window.try_into().ok()?);
                let len = (special_bytes(window).trailing_zeros() / 8) as usize;
                match self.bytes.get(start + len)? {
                    b'"' => {
                        self.at = start + len + 1;
                        let mask = u128::MAX.checked_shr(8 * (16 - len) as u32).unwrap_or(0);
                        Key::Packed(window & mask)
                    }
                    // Longer than sixteen bytes, or an escape or a control character.
                    _ if len == 16 => {
                        let (_, end) = self.string_span_from(start)?;
                        if end - start == 16 {
                            Key::Packed(window)
                        } else {
                            Key::Long
                        }
                    }
                    _ => return None,
                }
            }
            None => {
                let (start, end) = self.string_span_from(start)?;
                match end - start {
                    0..=16 => Key::Packed(
                        self.bytes[start..end]
                            .iter()
                            .rev()
                            .fold(0u128, |packed, &b| packed << 8 | u128::from(b)),
                    ),
                    _ => Key::Long,
                }
            }
        };
        self.expect(b':')?;
        Some(key)
    }

    /// A string value, or `null`.
    fn text_or_null(&mut self) -> Option<Option<Cow<'a, str>>> {
        self.ws();
        match *self.bytes.get(self.at)? {
            b'"' => self.string().map(Some),
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    /// An integer that fits an `i64`, or `null`.
    fn int_or_null(&mut self) -> Option<Option<i64>> {
        self.ws();
        match *self.bytes.get(self.at)? {
            b'n' => self.literal(b"null").map(|()| None),
            _ => self.int().map(Some),
        }
    }

    /// `true`, `false` or `null`.
    fn bool_or_null(&mut self) -> Option<Option<bool>> {
        self.ws();
        match *self.bytes.get(self.at)? {
            b't' => self.literal(b"true").map(|()| Some(true)),
            b'f' => self.literal(b"false").map(|()| Some(false)),
            b'n' => self.literal(b"null").map(|()| None),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let found = self.bytes.get(self.at..self.at + word.len())? == word;
        found.then(|| self.at += word.len())
    }

    /// An integer as serde_json reads it into an `i64`: no fraction or exponent (those are
    /// floats, which an `i64` refuses), no leading zero, `-0` refused (serde_json reads it
    /// as a float), within range.
    fn int(&mut self) -> Option<i64> {
        self.ws();
        let negative = self.bytes.get(self.at) == Some(&b'-');
        if negative {
            self.at += 1;
        }
        let (magnitude, digits) = self.digits()?;
        self.no_leading_zero(self.at - digits)?;
        if let Some(b'.' | b'e' | b'E') = self.bytes.get(self.at) {
            return None;
        }
        if negative {
            // i64::MIN's magnitude is one more than i64::MAX.
            (magnitude != 0 && magnitude <= 1 << 63).then(|| (magnitude as i64).wrapping_neg())
        } else {
            i64::try_from(magnitude).ok()
        }
    }

    /// A run of digits: its value (giving up on overflow) and its length (at least 1).
    fn digits(&mut self) -> Option<(u64, usize)> {
        let start = self.at;
        let mut value = 0u64;
        while let Some(&b) = self.bytes.get(self.at)
            && b.is_ascii_digit()
        {
            value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
            self.at += 1;
        }
        let digits = self.at - start;
        (digits > 0).then_some((value, digits))
    }

    /// Any scalar value: a string, a number, `true`, `false`, `null`.
    fn skip_scalar(&mut self) -> Option<()> {
        self.ws();
        match *self.bytes.get(self.at)? {
            b'"' => self.string().map(|_| ()),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => None,
        }
    }

    /// A number by JSON's grammar, whatever its size.
    fn skip_number(&mut self) -> Option<()> {
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let start = self.at;
        self.skip_some_digits()?;
        self.no_leading_zero(start)?;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            self.skip_some_digits()?;
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.at) {
                self.at += 1;
            }
            self.skip_some_digits()?;
        }
        Some(())
    }

    /// Whether the integer digits from `start` to the cursor have no leading zero, as JSON
    /// requires (`0` itself is fine).
    fn no_leading_zero(&self, start: usize) -> Option<()> {
        (self.at - start == 1 || self.bytes[start] != b'0').then_some(())
    }

    fn skip_some_digits(&mut self) -> Option<()> {
        let start = self.at;
        while self.bytes.get(self.at).is_some_and(u8::is_ascii_digit) {
            self.at += 1;
        }
        (self.at > start).then_some(())
    }

    /// The array of records, appended to `records`.
    fn records(&mut self, records: &mut Vec<BotRunRecord<'a>>) -> Option<()> {
        self.expect(b'[')?;
        if self.eat(b']') {
            return Some(());
        }
        loop {
            records.push(self.record()?);
            if !self.next_of(b']')? {
                return Some(());
            }
        }
    }

    /// One `BotRunRecord`.
    fn record(&mut self) -> Option<BotRunRecord<'a>> {
        self.expect(b'{')?;
        let mut id = None;
        let mut start_time = None;
        let mut r = BotRunRecord {
            id: 0,
            user_name: None,
            first_name: None,
            last_name: None,
            email: None,
            host_name: None,
            ip_address: None,
            file_name: None,
            start_time: Cow::Borrowed(""),
            end_time: None,
            status: None,
            total_lines: None,
            time_taken: None,
            success_indicator: None,
        };
        // Fields seen, one bit each, so that a duplicate gives up as serde_json refuses it.
        let mut seen = 0u16;
        let mut once = |bit: u16| {
            let first = seen & bit == 0;
            seen |= bit;
            first.then_some(())
        };
        if !self.eat(b'}') {
            loop {
                let Key::Packed(key) = self.key()? else {
                    self.skip_scalar()?;
                    if !self.next_member()? {
                        break;
                    }
                    continue;
                };
                match key {
                    ID => {
                        once(1)?;
                        id = Some(self.int()?);
                    }
                    USER_NAME => {
                        once(1 << 1)?;
                        r.user_name = self.text_or_null()?;
                    }
                    FIRST_NAME => {
                        once(1 << 2)?;
                        r.first_name = self.text_or_null()?;
                    }
                    LAST_NAME => {
                        once(1 << 3)?;
                        r.last_name = self.text_or_null()?;
                    }
                    EMAIL => {
                        once(1 << 4)?;
                        r.email = self.text_or_null()?;
                    }
                    HOST_NAME => {
                        once(1 << 5)?;
                        r.host_name = self.text_or_null()?;
                    }
                    IP_ADDRESS => {
                        once(1 << 6)?;
                        r.ip_address = self.text_or_null()?;
                    }
                    FILE_NAME => {
                        once(1 << 7)?;
                        r.file_name = self.text_or_null()?;
                    }
                    START_TIME => {
                        once(1 << 8)?;
                        // Not an Option: `null` is refused, as serde_json refuses it.
                        start_time = Some(self.text_or_null()??);
                    }
                    END_TIME => {
                        once(1 << 9)?;
                        r.end_time = self.text_or_null()?;
                    }
                    STATUS => {
                        once(1 << 10)?;
                        r.status = self.text_or_null()?;
                    }
                    TOTAL_LINES => {
                        once(1 << 11)?;
                        r.total_lines = self.int_or_null()?;
                    }
                    TIME_TAKEN => {
                        once(1 << 12)?;
                        r.time_taken = self.int_or_null()?;
                    }
                    SUCCESS_INDICATOR => {
                        once(1 << 13)?;
                        r.success_indicator = self.bool_or_null()?;
                    }
                    _ => self.skip_scalar()?,
                }
                if !self.next_member()? {
                    break;
                }
            }
        }
        r.id = id?;
        r.start_time = start_time?;
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    use crate::aa::runs::RunRecords;

    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(rename = "botRunDataList", borrow)]
        runs: Option<RunRecords<'a>>,
    }

    /// What serde_json makes of the first value of `text`, in the shape the fast parser
    /// gives, or `None` where serde_json refuses it or finds no runs.
    fn by_serde(text: &str) -> Option<(String, usize)> {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<Page<'_>>();
        let page = values.next()?.ok()?;
        Some((format!("{:?}", page.runs?.0), values.byte_offset()))
    }

    fn by_hand(text: &str) -> Option<(String, usize)> {
        let mut runs = RunRecords::default();
        let arena = Bump::new();
        parse_run_page(text, &arena, &mut runs).map(|end| (format!("{:?}", runs.0), end))
    }

    /// Where the fast parser takes a page, serde_json takes it the same way.
    fn agrees(text: &str) -> bool {
        match by_hand(text) {
            Some(hand) => {
                assert_eq!(Some(&hand), by_serde(text).as_ref(), "{text}");
                true
            }
            None => false,
        }
    }

    const RECORD: &str = r#"{"id":7,"userName":"ana","firstName":"Ana","lastName":"Lima","email":"ana@x.io","hostName":"h1","iPAddress":"10.0.0.1","fileName":"Invoices\\Run.atmx","startTime":"2026-10-01T08:00:00Z","endTime":"2026-10-01T08:01:00Z","status":"COMPLETED","totalLines":12,"timeTaken":60000,"successIndicator":true}"#;

    #[test]
    fn takes_the_common_shape_as_serde_json_does() {
        let plain = RECORD.replace("\\\\", "/");
        for page in [
            format!(r#"{{"totalRecords":2,"botRunDataList":[{RECORD},{plain}]}}"#),
            format!("{{\n  \"botRunDataList\" : [\n {RECORD} ] ,\"more\":-1.5e3 }}\n\n"),
            r#"{"botRunDataList":[]}"#.to_string(),
            r#"{"botRunDataList":[{"id":-9223372036854775808,"startTime":"x","userName":null,"x":"y","successIndicator":false,"totalLines":null,"z":true,"w":null,"v":0.5,"u":1E+2,"aVeryLongPropertyName":3}]}{"#.to_string(),
            r#"{"botRunDataList":[{"startTime":"é ü 日本","id":9223372036854775807}]}"#.to_string(),
            r#" {"a":1} "#.replace(r#""a":1"#, r#""botRunDataList":[{"id":0,"startTime":""}]"#),
            r#"{"botRunDataList":[{"id":1,"startTime":"a\"b\\c\/d\b\f\n\r\t","status":"\u00e9\u0041x\ud83d\ude00y\u20AC","n":"\\"}]}"#.to_string(),
            r#"{"botRunDataList":[{"id":1,"startTime":"\\\\","hostName":"\"","fileName":"é\\é"}]}"#.to_string(),
            // Keys of 15, 16 and 17 bytes, and a long one with a character past ASCII.
            r#"{"botRunDataList":[{"id":1,"startTime":"t","fifteen_bytes_k":1,"sixteen_bytes_ke":2,"seventeen_bytes_k":3,"clé_très_longue_à_lire":4}]}"#.to_string(),
        ] {
            assert!(agrees(&page), "{page}");
        }
    }

    #[test]
    fn gives_up_on_whatever_serde_json_would_read_otherwise_or_refuse() {
        for page in [
            r#"{"botRunDataList":[{"id":1,"startTime":"a\x"}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"a\u004"}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"a\u00g1"}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"\ud83d"}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"\ud83dx"}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"\ud83d\u0041"}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"\ude00"}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"a\"#,
            r#"{"botRunDataList":[{"i\u0064":1,"startTime":"t"}]}"#,
            "{\"botRunDataList\":[{\"id\":1,\"startTime\":\"a\tb\"}]}",
            "{\"botRunDataList\":[{\"id\":1,\"startTime\":\"t\",\"a\tb\":1}]}",
            "{\"botRunDataList\":[{\"id\":1,\"startTime\":\"t\",\"a_rather_long_key\nwith_a_newline\":1}]}",
            r#"{"botRunDataList":[{"id":1,"startTime":"t","a_rather_long_key\u0041":1}]}"#,
            r#"{"botRunDataList":[{"id":1,"id":2,"startTime":"t"}]}"#,
            r#"{"botRunDataList":[{"id":1}]}"#,
            r#"{"botRunDataList":[{"startTime":"t"}]}"#,
            r#"{"botRunDataList":[{"id":1.0,"startTime":"t"}]}"#,
            r#"{"botRunDataList":[{"id":1e3,"startTime":"t"}]}"#,
            r#"{"botRunDataList":[{"id":-0,"startTime":"t"}]}"#,
            r#"{"botRunDataList":[{"id":01,"startTime":"t"}]}"#,
            r#"{"botRunDataList":[{"id":9223372036854775808,"startTime":"t"}]}"#,
            r#"{"botRunDataList":[{"id":-9223372036854775809,"startTime":"t"}]}"#,
            r#"{"botRunDataList":[{"id":"1","startTime":"t"}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":null}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"t","status":3}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"t","extra":{"a":1}}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"t","successIndicator":"yes"}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"t"},]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"t"}],}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"t"} {"id":2,"startTime":"t"}]}"#,
            r#"{"botRunDataList":[[1,"t"]]}"#,
            r#"{"botRunDataList":null}"#,
            r#"{"botRunDataList":[],"botRunDataList":[]}"#,
            r#"{"botRunDataList":[],"auditData":[]}"#,
            r#"{"totalRecords":1}"#,
            r#"{"totalRecords":01,"botRunDataList":[]}"#,
            r#"{"totalRecords":1.,"botRunDataList":[]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"t","x":tru}]}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"t"}"#,
            r#"{"botRunDataList":[{"id":1,"startTime":"t"#,
            r#"[{"botRunDataList":[]}]"#,
            "",
            "   ",
        ] {
            assert_eq!(by_hand(page), None, "{page}");
        }
    }

    #[test]
    fn a_value_cut_short_is_told_from_one_that_closes() {
        let page = r#" {"botRunDataList":[{"id":1,"startTime":"a\"}]\\"}],"x":[{}]} "#;
        // Every proper prefix that has begun the object ends inside it.
        let end = page.rfind('}').unwrap() + 1;
        for cut in 2..end {
            assert!(
                ends_inside_value(&page.as_bytes()[..cut]),
                "{}",
                &page[..cut]
            );
        }
        for cut in end..=page.len() {
            assert!(!ends_inside_value(&page.as_bytes()[..cut]));
        }
        for whole in [r#""a\"b" "#, "[1,[2]] [", "12", "nul", "}", "x"] {
            assert!(!ends_inside_value(whole.as_bytes()), "{whole}");
        }
        for cut in ["", "  ", r#""a\"#, r#"["\"#, "[[1]"] {
            assert!(ends_inside_value(cut.as_bytes()), "{cut}");
        }
    }

    #[test]
    fn keys_are_told_apart_by_every_byte() {
        // Same length as known keys, one byte off: unknown, so skipped.
        let page =
            r#"{"botRunDataList":[{"id":1,"startTime":"t","userNamf":"x","Id":2,"statuses":"y"}]}"#;
        assert!(agrees(page));
        let mut runs = RunRecords::default();
        let arena = Bump::new();
        parse_run_page(page, &arena, &mut runs).unwrap();
        assert_eq!(runs.0[0].user_name, None);
        assert_eq!(runs.0[0].id, 1);
    }
}
