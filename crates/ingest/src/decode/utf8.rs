//! Pages holding bytes that are not UTF-8 (a Control Room on Windows writing a name in its
//! code page): JSON cannot hold them, so such a page would fail whole, page after page.
//! Mended, it parses; the records that held such bytes are then told apart and rejected
//! with those bytes shown, and the rest of the page lands.

/// How a mended page writes a byte that is not UTF-8: the JSON escape of U+F700 plus the
/// byte, a private-use character that no Control Room sends escaped.
const MARK_PREFIX: &[u8] = b"\\uF7";

/// `bytes` with every byte that is not UTF-8 written as the escape of [`MARK_PREFIX`], or
/// none if all of it is UTF-8. Inside a string, where such bytes are found, the page then
/// parses; outside one it stays as broken as it was. Also where each escape begins in
/// the mended text, so that offsets in it can be taken back to the input.
pub fn mend_utf8(bytes: &[u8]) -> Option<(Vec<u8>, Vec<usize>)> {
    std::str::from_utf8(bytes).err()?;
    let mut mended = Vec::with_capacity(bytes.len() + 64);
    let mut marks = Vec::new();
    for chunk in bytes.utf8_chunks() {
        mended.extend_from_slice(chunk.valid().as_bytes());
        for b in chunk.invalid() {
            marks.push(mended.len());
            mended.extend_from_slice(MARK_PREFIX);
            mended.extend_from_slice(format!("{b:02X}").as_bytes());
        }
    }
    Some((mended, marks))
}

/// The offset in the input of `offset` in a text mended with escapes at `marks`.
pub fn unmended_offset(offset: usize, marks: &[usize]) -> usize {
    let before = marks.partition_point(|&m| m < offset);
    offset - before * (MARK_PREFIX.len() + 2 - 1)
}

/// For a record of a mended page: if it held bytes that were not UTF-8, the reason to
/// reject it and the record as received, each such byte as `\xNN`.
pub fn not_utf8(raw: &str) -> Option<(String, String)> {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut found = Vec::new();
    let (mut i, mut copied) = (0, 0);
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        // An escape: ours, or one to step over whole (`\\` must not start another).
        let byte = bytes
            .get(i..i + MARK_PREFIX.len() + 2)
            .filter(|e| e.starts_with(MARK_PREFIX))
            .and_then(|e| std::str::from_utf8(&e[MARK_PREFIX.len()..]).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            .filter(|b| *b >= 0x80);
        match byte {
            Some(b) => {
                out.push_str(&raw[copied..i]);
                out.push_str(&format!("\\x{b:02X}"));
                let name = format!("0x{b:02X}");
                if !found.contains(&name) {
                    found.push(name);
                }
                i += MARK_PREFIX.len() + 2;
                copied = i;
            }
            None => i += 2,
        }
    }
    if found.is_empty() {
        return None;
    }
    out.push_str(&raw[copied..]);
    let reason = format!(
        "not UTF-8: bytes {} (shown as \\xNN) are no UTF-8 character; JSON is UTF-8",
        found.join(", ")
    );
    Some((reason, out))
}

/// `bytes` as text: its UTF-8 as it is, every byte that is not UTF-8 as `\xNN`.
pub fn escape_invalid_utf8(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for b in chunk.invalid() {
            text.push_str(&format!("\\x{b:02X}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    #[test]
    fn a_mended_page_parses_and_tells_its_bad_records() {
        let page =
            b"{\"list\":[{\"n\":\"Ch\xe9n\"},{\"n\":\"a\\\\uF7E9 \\u00e9\"},{\"n\":\"\xff\xfe\"}]}";
        assert!(serde_json::from_slice::<serde_json::Value>(page).is_err());
        let (mended, marks) = mend_utf8(page).unwrap();
        assert_eq!(marks.len(), 3);
        #[derive(serde::Deserialize)]
        struct List<'a> {
            #[serde(borrow)]
            list: Vec<&'a RawValue>,
        }
        let list: List<'_> = serde_json::from_slice(&mended).unwrap();
        let verdicts: Vec<_> = list.list.iter().map(|r| not_utf8(r.get())).collect();
        assert_eq!(
            verdicts[0],
            Some((
                "not UTF-8: bytes 0xE9 (shown as \\xNN) are no UTF-8 character; JSON is UTF-8"
                    .to_string(),
                r#"{"n":"Ch\xE9n"}"#.to_string()
            ))
        );
        // An escaped backslash before `uF7E9` is text, and `\u00e9` a character.
        assert_eq!(verdicts[1], None);
        assert_eq!(verdicts[2].as_ref().unwrap().1, r#"{"n":"\xFF\xFE"}"#);
        // Offsets in the mended text go back to the input.
        assert_eq!(unmended_offset(mended.len(), &marks), page.len());
        assert_eq!(unmended_offset(marks[0], &marks), 17);
        assert_eq!(mend_utf8("é ok".as_bytes()), None);
    }
}
