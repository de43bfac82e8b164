//! A view with parameters called as a table function, its parameters in the order its file
//! declares them: `SELECT * FROM failure_spikes(5, 3)` is the view with `min_finished` 5 and
//! `min_failed` 3, the rest at their defaults. This is how a client of the PostgreSQL server
//! gives a view's parameters in a prepared statement (`failure_spikes($1, $2)`), and how SQL
//! gives them at all: the view's name alone is the view with every default.

use std::sync::Arc;

use datafusion::catalog::TableFunctionImpl;
use datafusion::catalog::TableProvider;
use datafusion::catalog::view::ViewTable;
use datafusion::common::{plan_datafusion_err, plan_err};
use datafusion::error::Result;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::scalar::ScalarValue;

use crate::defs::QueryDef;

/// A view's table function: its plan with its parameters as placeholders.
#[derive(Debug)]
pub struct ViewCall {
    def: QueryDef,
    plan: LogicalPlan,
}

impl ViewCall {
    /// The table function of the view `def`, planned as `plan` (placeholders unbound).
    pub fn new(def: QueryDef, plan: LogicalPlan) -> ViewCall {
        ViewCall { def, plan }
    }
}

impl TableFunctionImpl for ViewCall {
    fn call(&self, args: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        let def = &self.def;
        let names = || {
            def.params
                .iter()
                .map(|p| format!("{} {}", p.name, p.type_name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if args.len() > def.params.len() {
            return plan_err!(
                "{}() takes at most {} arguments ({}), got {}",
                def.name,
                def.params.len(),
                names(),
                args.len()
            );
        }
        let mut values = Vec::with_capacity(def.params.len());
        for (i, param) in def.params.iter().enumerate() {
            let value = match args.get(i) {
                None => param.default.clone(),
                Some(arg) => match constant(arg) {
                    Some(value) if value.is_null() => ScalarValue::try_from(&param.data_type)?,
                    Some(value) => value.cast_to(&param.data_type).map_err(|_| {
                        plan_datafusion_err!(
                            "argument {} of {}() ({}) must be a {}, got {value}",
                            i + 1,
                            def.name,
                            param.name,
                            param.type_name
                        )
                    })?,
                    // A parameter not yet bound (a prepared statement's `$1`, planned
                    // before its value is known): the default stands in.
                    None if matches!(arg, Expr::Placeholder(_)) => param.default.clone(),
                    None => {
                        return plan_err!(
                            "the arguments of {}() must be constants ({})",
                            def.name,
                            names()
                        );
                    }
                },
            };
            values.push((param.name.clone(), value));
        }
        let plan = self.plan.clone().with_param_values(values)?;
        Ok(Arc::new(ViewTable::new(plan, Some(def.sql.clone()))))
    }
}

/// The value of `expr` if it is a constant: a literal, maybe cast or negated.
fn constant(expr: &Expr) -> Option<ScalarValue> {
    match expr {
        Expr::Literal(value, _) => Some(value.clone()),
        Expr::Cast(cast) => constant(&cast.expr)?.cast_to(cast.field.data_type()).ok(),
        Expr::TryCast(cast) => constant(&cast.expr)?.cast_to(cast.field.data_type()).ok(),
        Expr::Negative(inner) => constant(inner)?.arithmetic_negate().ok(),
        _ => None,
    }
}
