//! Answers that parse but are not of their endpoint's shape: the keys they had, to say so.
//! No answer without the list its endpoint answers with is ever taken as "no records".

use std::collections::BTreeMap;

use serde_json::value::RawValue;

/// Keys shown at most, and characters of each.
const MAX_KEYS: usize = 20;
const MAX_KEY_CHARS: usize = 40;

/// An answer that parsed as JSON but is not of its endpoint's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unexpected {
    /// It holds none of the lists its endpoint answers with.
    Lacking {
        /// What it should have held, for example `botRunDataList`.
        expected: String,
        /// The keys it had (a key whose value is `null` says so), as [`keys_of`] lists them.
        had: String,
    },
    /// A field that says how to read the rest is not what it must be.
    Field {
        /// The field.
        field: &'static str,
        /// Its value, escaped and cut short.
        value: String,
        /// What it must be, for example `a date`.
        wanted: &'static str,
    },
}

impl Unexpected {
    /// The answer `body` lacks `expected`.
    pub fn lacking(expected: impl Into<String>, body: &[u8]) -> Unexpected {
        Unexpected::Lacking {
            expected: expected.into(),
            had: keys_of(body),
        }
    }

    /// The answer's `field` is `value`, which is not `wanted`.
    pub fn field(field: &'static str, value: &str, wanted: &'static str) -> Unexpected {
        let mut shown: String = value.chars().take(MAX_KEY_CHARS).collect();
        if value.chars().count() > MAX_KEY_CHARS {
            shown.push('…');
        }
        Unexpected::Field {
            field,
            value: format!("{shown:?}"),
            wanted,
        }
    }
}

impl std::fmt::Display for Unexpected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unexpected::Lacking { expected, had } => {
                write!(f, "without {expected} (its keys: {had})")
            }
            Unexpected::Field {
                field,
                value,
                wanted,
            } => write!(f, "with {field} {value}, which is not {wanted}"),
        }
    }
}

/// The keys of the JSON object `body`, sorted and joined by `, `; a key whose value is
/// `null` is followed by ` (null)`. At most 20 keys of at most 40 characters each are
/// shown, escaped: the text is the server's and is printed.
pub fn keys_of(body: &[u8]) -> String {
    let mended;
    let body = match crate::decode::mend_utf8(body) {
        Some((m, _)) => {
            mended = m;
            &mended[..]
        }
        None => body,
    };
    let Ok(object) = serde_json::from_slice::<BTreeMap<String, Box<RawValue>>>(body) else {
        return "none (not a JSON object)".to_string();
    };
    if object.is_empty() {
        return "none (an empty object)".to_string();
    }
    let mut shown: Vec<String> = object
        .iter()
        .take(MAX_KEYS)
        .map(|(key, value)| {
            let mut name: String = key.chars().take(MAX_KEY_CHARS).collect();
            name = name.escape_debug().to_string();
            if key.chars().count() > MAX_KEY_CHARS {
                name.push('…');
            }
            if value.get() == "null" {
                name.push_str(" (null)");
            }
            name
        })
        .collect();
    if object.len() > MAX_KEYS {
        shown.push(format!("and {} more", object.len() - MAX_KEYS));
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_listed_sorted_with_nulls_marked_and_bounded() {
        assert_eq!(
            keys_of(br#"{"totalRecords":3,"data":[],"botRunDataList":null}"#),
            "botRunDataList (null), data, totalRecords"
        );
        assert_eq!(keys_of(b"{}"), "none (an empty object)");
        assert_eq!(keys_of(b"[1]"), "none (not a JSON object)");
        let many: Vec<String> = (0..25).map(|i| format!("\"k{i:02}\":1")).collect();
        let listed = keys_of(format!("{{{}}}", many.join(",")).as_bytes());
        assert!(listed.ends_with("k19, and 5 more"), "{listed}");
        let long = format!("{{\"{}\\n\":1}}", "x".repeat(50));
        let listed = keys_of(long.as_bytes());
        assert_eq!(listed, format!("{}…", "x".repeat(40)));
        assert_eq!(keys_of(b"{\"a\\nb\":1}"), "a\\nb");
        assert!(keys_of(b"{\"caf\xe9\":1}").starts_with("caf"));
    }
}
