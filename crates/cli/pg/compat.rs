//! What PostgreSQL clients expect of a server that DataFusion does not do by itself: the
//! catalog (`pg_catalog`) and the functions BI tools call on it, and rewrites of statements
//! DataFusion would plan otherwise or not at all.

use std::sync::Arc;

use botlake_query::{Error, Session};
use datafusion::arrow::array::{Array, StringBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility, create_udf,
};
use datafusion::scalar::ScalarValue;
use datafusion::sql::sqlparser::ast::{Expr, SelectItem, SetExpr, Statement as Sql, TableFactor};
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::setup_pg_catalog;
use datafusion_postgres::pgwire;
use pgwire::api::Type;
use pgwire::error::PgWireResult;

use super::conn::pg_error;

/// `session`'s context with PostgreSQL's catalog (`pg_catalog`, and the functions BI
/// tools call on it) beside `information_schema`.
pub fn with_pg_catalog(session: &Session) -> PgWireResult<()> {
    let ctx = session.context();
    let catalog = ctx
        .state()
        .config()
        .options()
        .catalog
        .default_catalog
        .clone();
    setup_pg_catalog(ctx, &catalog, EmptyContextProvider)
        .map_err(|e| pg_error(Error::DataFusion(*e)))?;
    // Clients read the server's version from `version()` (SQLAlchemy refuses to connect
    // when it does not start as PostgreSQL's does); DataFusion's names DataFusion.
    let version = format!(
        "PostgreSQL 16.6 (botlake {}) on x86_64-pc-linux-gnu",
        env!("CARGO_PKG_VERSION")
    );
    ctx.register_udf(create_udf(
        "version",
        Vec::new(),
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(move |_| {
            Ok(ColumnarValue::Scalar(ScalarValue::Utf8(Some(
                version.clone(),
            ))))
        }),
    ));
    ctx.register_udf(create_udf(
        "to_regtype",
        vec![DataType::Utf8],
        DataType::Int32,
        Volatility::Stable,
        Arc::new(to_regtype),
    ));
    // SQLAlchemy's column list (Superset's, a notebook's `inspect`) asks for each column's
    // sequence and builds its identity options as JSON: there are no sequences here.
    ctx.register_udf(create_udf(
        "pg_get_serial_sequence",
        vec![DataType::Utf8, DataType::Utf8],
        DataType::Utf8,
        Volatility::Stable,
        Arc::new(|_| Ok(ColumnarValue::Scalar(ScalarValue::Utf8(None)))),
    ));
    // Every type is visible: there is one schema of the lake's, and pg_catalog's.
    ctx.register_udf(create_udf(
        "pg_type_is_visible",
        vec![DataType::Int64],
        DataType::Boolean,
        Volatility::Stable,
        Arc::new(|args| {
            let oids = ColumnarValue::values_to_arrays(args)?;
            let visible: datafusion::arrow::array::BooleanArray = (0..oids[0].len())
                .map(|i| (!oids[0].is_null(i)).then_some(true))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(visible)))
        }),
    ));
    ctx.register_udf(ScalarUDF::new_from_impl(JsonBuildObject {
        signature: Signature::variadic_any(Volatility::Immutable),
    }));
    Ok(())
}

/// `to_regtype(name)`: the oid of a built-in type of that name, else NULL (psycopg asks
/// for `hstore` on connecting, to know whether the server has it).
fn to_regtype(args: &[ColumnarValue]) -> datafusion::error::Result<ColumnarValue> {
    use datafusion::arrow::array::{Array, Int32Array, StringArray};
    let oid = |name: &str| {
        let name = name.trim().trim_start_matches("pg_catalog.");
        [
            Type::BOOL,
            Type::BYTEA,
            Type::INT2,
            Type::INT4,
            Type::INT8,
            Type::FLOAT4,
            Type::FLOAT8,
            Type::NUMERIC,
            Type::TEXT,
            Type::VARCHAR,
            Type::DATE,
            Type::TIMESTAMP,
            Type::TIMESTAMPTZ,
            Type::INTERVAL,
            Type::JSON,
            Type::JSONB,
            Type::UUID,
        ]
        .into_iter()
        .find(|t| t.name() == name)
        .and_then(|t| i32::try_from(t.oid()).ok())
    };
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let names = arrays[0]
        .as_any()
        .downcast_ref::<StringArray>()
        .ok_or_else(|| DataFusionError::Plan("to_regtype takes a type name".into()))?;
    let oids: Int32Array = (0..names.len())
        .map(|i| (!names.is_null(i)).then(|| oid(names.value(i))).flatten())
        .collect();
    Ok(ColumnarValue::Array(Arc::new(oids)))
}

/// `statement` with each `LIKE ... ESCAPE 'c'` of another character than the backslash
/// (SQLAlchemy lists schemas with `NOT LIKE 'pg/_%' ESCAPE '/'`) as the same pattern escaped
/// with backslashes, the one escape DataFusion takes. (An escaped escape character, `//`,
/// is read as a literal backslash; SQLAlchemy escapes only `_` and `%`.)
pub fn with_backslash_escapes(statement: &mut Sql) {
    use datafusion::sql::sqlparser::ast::{Value, visit_expressions_mut};
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    let _ = visit_expressions_mut(statement, |expr| {
        if let Expr::Like {
            pattern,
            escape_char,
            ..
        }
        | Expr::ILike {
            pattern,
            escape_char,
            ..
        } = expr
            && let Some(escape) = escape_char
            && let Value::SingleQuotedString(c) = &escape.value
            && c != "\\"
        {
            let quoted = c.replace('\'', "''");
            let rewritten = format!("replace(replace({pattern}, '\\', '\\\\'), '{quoted}', '\\')");
            if let Ok(parsed) = Parser::new(&PostgreSqlDialect {})
                .try_with_sql(&rewritten)
                .and_then(|mut p| p.parse_expr())
            {
                **pattern = parsed;
                escape.value = Value::SingleQuotedString("\\".into());
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// `json_build_object(key, value, ...)`: a JSON object of the pairs, as text (keys as text,
/// values as JSON numbers, booleans, strings or null).
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonBuildObject {
    signature: Signature,
}

impl ScalarUDFImpl for JsonBuildObject {
    fn name(&self) -> &str {
        "json_build_object"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        if arrays.len() % 2 != 0 {
            return Err(DataFusionError::Plan(
                "json_build_object takes pairs of keys and values".into(),
            ));
        }
        let mut objects = StringBuilder::new();
        for row in 0..args.number_rows {
            // In the order given, as PostgreSQL keeps it.
            let mut object = String::from("{");
            for (i, pair) in arrays.chunks(2).enumerate() {
                let key = match ScalarValue::try_from_array(&pair[0], row)? {
                    ScalarValue::Utf8(Some(k))
                    | ScalarValue::LargeUtf8(Some(k))
                    | ScalarValue::Utf8View(Some(k)) => k,
                    k if k.is_null() => {
                        return Err(DataFusionError::Execution(
                            "json_build_object: a key is null".into(),
                        ));
                    }
                    k => k.to_string(),
                };
                if i > 0 {
                    object.push(',');
                }
                object.push_str(&serde_json::Value::String(key).to_string());
                object.push(':');
                object
                    .push_str(&json_value(ScalarValue::try_from_array(&pair[1], row)?).to_string());
            }
            object.push('}');
            objects.append_value(object);
        }
        Ok(ColumnarValue::Array(Arc::new(objects.finish())))
    }
}

/// `value` as JSON.
fn json_value(value: ScalarValue) -> serde_json::Value {
    use serde_json::Value;
    if value.is_null() {
        return Value::Null;
    }
    match value {
        ScalarValue::Boolean(Some(b)) => Value::Bool(b),
        ScalarValue::Int8(Some(i)) => i.into(),
        ScalarValue::Int16(Some(i)) => i.into(),
        ScalarValue::Int32(Some(i)) => i.into(),
        ScalarValue::Int64(Some(i)) => i.into(),
        ScalarValue::UInt8(Some(i)) => i.into(),
        ScalarValue::UInt16(Some(i)) => i.into(),
        ScalarValue::UInt32(Some(i)) => i.into(),
        ScalarValue::UInt64(Some(i)) => i.into(),
        ScalarValue::Float32(Some(f)) => {
            serde_json::Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number)
        }
        ScalarValue::Float64(Some(f)) => {
            serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
        }
        ScalarValue::Utf8(Some(s))
        | ScalarValue::LargeUtf8(Some(s))
        | ScalarValue::Utf8View(Some(s)) => Value::String(s),
        other => Value::String(other.to_string()),
    }
}

/// `statement` with each scalar subquery over catalog tables alone (`pg_catalog.*`) that
/// gives one value without an aggregate, `(SELECT typcollation FROM pg_catalog.pg_type WHERE
/// oid = atttypid)`, asking for its first row: DataFusion plans a correlated scalar
/// subquery only if it is aggregated, and SQLAlchemy's column list holds four. The catalog
/// answers such lookups by key with one row at most, so the first row is the row; a query of
/// the lake's own tables is left as it is.
pub fn with_first_rows_of_catalog_lookups(statement: &mut Sql) {
    use datafusion::sql::sqlparser::ast::visit_expressions_mut;
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    const AGGREGATES: [&str; 12] = [
        "count",
        "sum",
        "min",
        "max",
        "avg",
        "first_value",
        "last_value",
        "array_agg",
        "string_agg",
        "bool_and",
        "bool_or",
        "every",
    ];
    let _ = visit_expressions_mut(statement, |expr| {
        if let Expr::Subquery(query) = expr
            && let SetExpr::Select(select) = query.body.as_mut()
            && select.projection.len() == 1
            && select.having.is_none()
            && matches!(&select.group_by, datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(e, _) if e.is_empty())
            && !select.from.is_empty()
            && select.from.iter().all(|t| {
                std::iter::once(&t.relation)
                    .chain(t.joins.iter().map(|j| &j.relation))
                    .all(|r| matches!(r, TableFactor::Table { name, .. } if name.to_string().to_ascii_lowercase().starts_with("pg_catalog.")))
            })
        {
            let item = match &mut select.projection[0] {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
                _ => return std::ops::ControlFlow::<()>::Continue(()),
            };
            let aggregated = matches!(item, Expr::Function(f) if AGGREGATES.contains(&f.name.to_string().to_ascii_lowercase().as_str()));
            if !aggregated
                && let Ok(first) = Parser::new(&PostgreSqlDialect {})
                    .try_with_sql(&format!("first_value({item})"))
                    .and_then(|mut p| p.parse_expr())
            {
                *item = first;
            }
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_like_with_another_escape_is_the_same_pattern_with_backslashes() {
        let dialect = datafusion::sql::sqlparser::dialect::PostgreSqlDialect {};
        let mut parsed = datafusion::sql::sqlparser::parser::Parser::parse_sql(
            &dialect,
            "SELECT nspname NOT LIKE 'pg/_' || '%' ESCAPE '/' FROM n",
        )
        .unwrap();
        with_backslash_escapes(&mut parsed[0]);
        assert_eq!(
            parsed[0].to_string(),
            r"SELECT nspname NOT LIKE replace(replace('pg/_' || '%', '\', '\\'), '/', '\') ESCAPE '\' FROM n"
        );
    }

    #[test]
    fn a_catalog_lookup_asks_for_its_first_row_and_the_lakes_queries_are_left_alone() {
        let dialect = datafusion::sql::sqlparser::dialect::PostgreSqlDialect {};
        let rewrite = |sql: &str| {
            let mut parsed =
                datafusion::sql::sqlparser::parser::Parser::parse_sql(&dialect, sql).unwrap();
            with_first_rows_of_catalog_lookups(&mut parsed[0]);
            parsed[0].to_string()
        };
        assert_eq!(
            rewrite(
                "SELECT a.attname, (SELECT t.typcollation FROM pg_catalog.pg_type AS t WHERE t.oid = a.atttypid) AS c FROM pg_catalog.pg_attribute AS a"
            ),
            "SELECT a.attname, (SELECT first_value(t.typcollation) FROM pg_catalog.pg_type AS t WHERE t.oid = a.atttypid) AS c FROM pg_catalog.pg_attribute AS a"
        );
        for kept in [
            "SELECT (SELECT max(oid) FROM pg_catalog.pg_type) FROM pg_catalog.pg_class",
            "SELECT (SELECT runs FROM kpi_daily WHERE day = d.day) FROM days AS d",
        ] {
            assert_eq!(rewrite(kept), kept);
        }
    }

    #[tokio::test]
    async fn json_build_object_builds_one_object_per_row() {
        let udf = ScalarUDF::new_from_impl(JsonBuildObject {
            signature: Signature::variadic_any(Volatility::Immutable),
        });
        let ctx = datafusion::prelude::SessionContext::new();
        ctx.register_udf(udf);
        let batches = async {
            ctx.sql("SELECT json_build_object('start', x, 'name', 'a\"b', 'cycle', x > 1, 'none', NULL) AS j FROM (VALUES (1), (2)) AS t(x)")
                .await?
                .collect()
                .await
        }
        .await
        .unwrap();
        let column = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string();
        assert!(
            column.contains(r#"{"start":1,"name":"a\"b","cycle":false,"none":null}"#),
            "{column}"
        );
        assert!(
            column.contains(r#"{"start":2,"name":"a\"b","cycle":true,"none":null}"#),
            "{column}"
        );
    }
}
