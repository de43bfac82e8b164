//! Tab at the SQL prompt: SQL keywords, the session's tables, views and their columns, and
//! the prompt's commands, completing the word before the cursor.

use std::collections::BTreeSet;

use botlake_query::Session;
use rustyline::completion::Pair;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// Keywords a statement over the lake uses most.
const KEYWORDS: [&str; 58] = [
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "ORDER",
    "HAVING",
    "LIMIT",
    "OFFSET",
    "JOIN",
    "LEFT",
    "RIGHT",
    "INNER",
    "OUTER",
    "FULL",
    "CROSS",
    "ON",
    "USING",
    "AS",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "DISTINCT",
    "COUNT",
    "SUM",
    "AVG",
    "MIN",
    "MAX",
    "WITH",
    "UNION",
    "ALL",
    "EXCEPT",
    "INTERSECT",
    "DESC",
    "ASC",
    "CAST",
    "INTERVAL",
    "DATE",
    "TIMESTAMP",
    "EXPLAIN",
    "ANALYZE",
    "CREATE",
    "VIEW",
    "TABLE",
    "SHOW",
    "SET",
    "DESCRIBE",
];

/// The prompt's commands (`\?` says what each does).
const COMMAND_WORDS: [&str; 13] = [
    "\\d", "\\dt", "\\dv", "\\x", "\\pset", "\\o", "\\i", "\\e", "\\timing", "\\format", "\\q",
    "\\?", "\\help",
];

/// The words Tab offers: keywords, the prompt's commands, and names the session knows.
pub struct Completer {
    names: Vec<String>,
}

impl Completer {
    /// A completer knowing `names` (see [`names`]).
    pub fn new(names: Vec<String>) -> Completer {
        Completer { names }
    }

    /// Knows `names` from now on (tables and views made since).
    pub fn learn(&mut self, names: Vec<String>) {
        self.names = names;
    }

    /// The words that start with `word`, ignoring case; keywords in the case typed.
    fn candidates(&self, word: &str) -> Vec<String> {
        let lower = word.to_ascii_lowercase();
        let starts = |w: &str| w.to_ascii_lowercase().starts_with(&lower) && w.len() > word.len();
        let mut out: BTreeSet<String> = BTreeSet::new();
        if word.starts_with('\\') {
            out.extend(
                COMMAND_WORDS
                    .iter()
                    .filter(|w| starts(w))
                    .map(|w| w.to_string()),
            );
            return out.into_iter().collect();
        }
        let typed_lower = word.chars().all(|c| !c.is_ascii_uppercase());
        out.extend(self.names.iter().filter(|n| starts(n)).cloned());
        out.extend(KEYWORDS.iter().filter(|k| starts(k)).map(|k| {
            if typed_lower && !word.is_empty() {
                k.to_ascii_lowercase()
            } else {
                k.to_string()
            }
        }));
        out.into_iter().collect()
    }
}

/// The tables and views of `session` and their columns.
pub async fn names(session: &Session) -> Vec<String> {
    let ctx = session.context();
    let mut names = BTreeSet::new();
    for catalog in ctx.catalog_names() {
        let Some(catalog) = ctx.catalog(&catalog) else {
            continue;
        };
        for schema in catalog.schema_names() {
            if schema == "information_schema" {
                continue;
            }
            let Some(schema) = catalog.schema(&schema) else {
                continue;
            };
            for table in schema.table_names() {
                if let Ok(Some(provider)) = schema.table(&table).await {
                    names.extend(provider.schema().fields().iter().map(|f| f.name().clone()));
                }
                names.insert(table);
            }
        }
    }
    names.into_iter().collect()
}

impl rustyline::completion::Completer for Completer {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\\'))
            .map_or(0, |i| i + 1);
        let word = &before[start..];
        if word.is_empty() {
            return Ok((pos, Vec::new()));
        }
        let pairs = self
            .candidates(word)
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Completer {
    type Hint = String;
}

impl Highlighter for Completer {}

impl Validator for Completer {}

impl Helper for Completer {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_complete_from_names_keywords_and_commands() {
        let c = Completer::new(vec!["kpi_daily".into(), "kpi_by_bot".into(), "day".into()]);
        assert_eq!(c.candidates("kpi_d"), ["kpi_daily"]);
        assert_eq!(c.candidates("SEL"), ["SELECT"]);
        assert_eq!(c.candidates("sel"), ["select"]);
        assert!(c.candidates("\\t").contains(&"\\timing".to_string()));
        assert!(c.candidates("da").contains(&"day".to_string()));
        assert!(c.candidates("da").contains(&"date".to_string()));
    }
}
