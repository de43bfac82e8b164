//! Query definitions: a `.sql` file is a view named after the file; its leading comment
//! lines describe it, and `-- param: NAME TYPE DEFAULT [description]` lines declare typed
//! parameters that the SQL uses as `$NAME`.

use std::path::Path;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::scalar::ScalarValue;

use crate::{Error, Result};

/// A view or named query.
#[derive(Debug, Clone)]
pub struct QueryDef {
    /// The view's name (the file name without `.sql`).
    pub name: String,
    /// The leading comment, joined into lines.
    pub description: String,
    /// The SQL text.
    pub sql: String,
    /// Declared parameters.
    pub params: Vec<ParamDef>,
    /// Where it came from: `built-in` or a file path.
    pub origin: String,
}

/// A typed parameter of a named query.
#[derive(Debug, Clone)]
pub struct ParamDef {
    /// Name, used as `$name` in the SQL and as `--param name=value`.
    pub name: String,
    /// Its SQL type, as declared (`BIGINT`).
    pub type_name: String,
    /// Its Arrow type.
    pub data_type: DataType,
    /// The value used when none is given (and by the view of the same name).
    pub default: ScalarValue,
    /// What it means.
    pub description: String,
}

/// The SQL type names a parameter may declare.
fn parse_type(name: &str) -> Option<DataType> {
    Some(match name.to_ascii_uppercase().as_str() {
        "BIGINT" | "INT" | "INTEGER" => DataType::Int64,
        "DOUBLE" | "FLOAT" => DataType::Float64,
        "VARCHAR" | "TEXT" | "STRING" => DataType::Utf8,
        "BOOLEAN" | "BOOL" => DataType::Boolean,
        "DATE" => DataType::Date32,
        "TIMESTAMP" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        _ => return None,
    })
}

/// Parses `value` as a parameter of type `data_type`.
pub fn parse_value(value: &str, data_type: &DataType) -> Option<ScalarValue> {
    ScalarValue::try_from_string(value.to_string(), data_type)
        .ok()
        .filter(|v| !v.is_null())
}

impl QueryDef {
    /// Parses the text of a query file.
    pub fn parse(name: &str, text: &str, origin: &str) -> Result<QueryDef> {
        let bad = |reason: String| Error::Definition {
            name: name.to_string(),
            origin: origin.to_string(),
            reason,
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad(
                "a view name (the file name) may hold only letters, digits and _".into(),
            ));
        }
        let mut description = Vec::new();
        let mut params = Vec::new();
        for line in text.lines() {
            let Some(comment) = line.trim().strip_prefix("--") else {
                if line.trim().is_empty() {
                    continue;
                }
                break;
            };
            let comment = comment.trim();
            if let Some(decl) = comment.strip_prefix("param:") {
                let mut parts = decl.split_whitespace();
                let (Some(pname), Some(ptype), Some(pdefault)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(bad(format!(
                        "parameter line {comment:?} needs: param: NAME TYPE DEFAULT [description]"
                    )));
                };
                let data_type = parse_type(ptype)
                    .ok_or_else(|| bad(format!("unknown parameter type {ptype}")))?;
                // NULL: no value (a bound the SQL leaves out, say).
                let default = if pdefault.eq_ignore_ascii_case("NULL") {
                    ScalarValue::try_from(&data_type)
                        .map_err(|e| bad(format!("no NULL of {ptype}: {e}")))?
                } else {
                    parse_value(pdefault, &data_type).ok_or_else(|| {
                        bad(format!("default {pdefault:?} of {pname} is not a {ptype}"))
                    })?
                };
                params.push(ParamDef {
                    name: pname.to_string(),
                    type_name: ptype.to_ascii_uppercase(),
                    data_type,
                    default,
                    description: parts.collect::<Vec<_>>().join(" "),
                });
            } else {
                description.push(comment.to_string());
            }
        }
        Ok(QueryDef {
            name: name.to_string(),
            description: description.join("\n"),
            sql: text.to_string(),
            params,
            origin: origin.to_string(),
        })
    }

    /// Sets the default of each parameter this definition declares that `values` (name,
    /// value) names, such as the `from` and `to` days a command line sets for every view;
    /// the others are left as they are.
    pub fn set_defaults(&mut self, values: &[(String, String)]) -> Result<()> {
        for param in &mut self.params {
            if let Some((_, value)) = values.iter().find(|(name, _)| *name == param.name) {
                param.default =
                    parse_value(value, &param.data_type).ok_or_else(|| Error::BadParam {
                        query: self.name.clone(),
                        param: param.name.clone(),
                        data_type: param.type_name.clone(),
                        value: value.clone(),
                    })?;
            }
        }
        Ok(())
    }

    /// The built-in definitions, compiled from `queries/`.
    pub fn builtin() -> Vec<QueryDef> {
        crate::BUILTIN
            .iter()
            .map(|(name, sql)| {
                QueryDef::parse(name, sql, crate::BUILT_IN).expect("built-in queries are valid")
            })
            .collect()
    }

    /// The built-in views, then those of each directory of `dirs`, which replace built-in
    /// views of the same name.
    pub fn with_dirs(dirs: &[std::path::PathBuf]) -> Result<Vec<QueryDef>> {
        let mut queries = QueryDef::builtin();
        for dir in dirs {
            for def in QueryDef::from_dir(dir)? {
                queries.retain(|q| q.name != def.name);
                queries.push(def);
            }
        }
        Ok(queries)
    }

    /// The definitions in a directory of `.sql` files.
    pub fn from_dir(dir: &Path) -> Result<Vec<QueryDef>> {
        let read_err = |source| Error::ReadQueries {
            path: dir.display().to_string(),
            source,
        };
        let mut defs = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .collect::<std::io::Result<_>>()
            .map_err(read_err)?;
        entries.sort_by_key(|e| e.path());
        for entry in entries {
            let path = entry.path();
            if path.extension().is_none_or(|x| x != "sql") {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|source| Error::ReadQueries {
                path: path.display().to_string(),
                source,
            })?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            defs.push(QueryDef::parse(&name, &text, &path.display().to_string())?);
        }
        Ok(defs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_description_and_params() {
        let d = QueryDef::parse(
            "q",
            "-- First line.\n-- param: min_runs BIGINT 10 runs needed\n-- Second.\nSELECT $min_runs",
            "test",
        )
        .unwrap();
        assert_eq!(d.description, "First line.\nSecond.");
        assert_eq!(d.params.len(), 1);
        assert_eq!(d.params[0].default, ScalarValue::Int64(Some(10)));
        assert_eq!(d.params[0].description, "runs needed");
    }

    #[test]
    fn a_null_default_is_no_value_and_a_session_sets_defaults() {
        let mut d = QueryDef::parse(
            "q",
            "-- param: from DATE NULL first day\n-- param: n BIGINT 1 n\nSELECT $from, $n",
            "test",
        )
        .unwrap();
        assert_eq!(d.params[0].default, ScalarValue::Date32(None));
        d.set_defaults(&[
            ("from".into(), "2026-10-01".into()),
            ("to".into(), "x".into()),
        ])
        .unwrap();
        assert_eq!(d.params[0].default.to_string(), "2026-10-01");
        assert_eq!(d.params[1].default, ScalarValue::Int64(Some(1)));
        assert!(
            d.set_defaults(&[("from".into(), "October".into())])
                .is_err()
        );
    }

    #[test]
    fn rejects_bad_declarations() {
        assert!(QueryDef::parse("q", "-- param: x NOTATYPE 1\nSELECT 1", "t").is_err());
        assert!(QueryDef::parse("q", "-- param: x BIGINT ten\nSELECT 1", "t").is_err());
        assert!(QueryDef::parse("bad-name", "SELECT 1", "t").is_err());
    }

    #[test]
    fn builtin_queries_parse() {
        let names: Vec<_> = QueryDef::builtin().into_iter().map(|d| d.name).collect();
        assert!(names.contains(&"runs".to_string()));
        assert!(names.contains(&"bot_ranking".to_string()));
    }
}
