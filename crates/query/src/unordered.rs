//! Hash aggregation where an ordering on constants would make DataFusion's slower.
//!
//! DataFusion aggregates input that is sorted on some GROUP BY columns in an ordered
//! mode, which emits a group as soon as its sort key changes. A column that is constant
//! within each partition counts as sorted, and `runs` gives every partition such a
//! column: `vendor` is a literal in each branch of its `UNION ALL`. So `GROUP BY vendor,
//! host, day, bot` ran ordered on `vendor`, which never changes within a partition, and
//! the ordered mode interns group keys one row at a time instead of a batch at a time:
//! the partial aggregation of `runs_host_day` at 1M runs took 371 ms of CPU in that mode
//! against 175 ms without `vendor`. [`ConstantOrderRule`] hides the input's orderings and
//! constants from such an aggregation, behind [`Unordered`], so that it hashes whole
//! batches. Its rows, and what they are known to satisfy, do not change: every column is
//! still constant within a partition.

use std::fmt;
use std::sync::Arc;

use datafusion::common::Result;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::AggregateExec;
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties,
    InputOrderMode, PlanProperties, ReplaceChildrenOptions,
};

/// Puts [`Unordered`] under every aggregation whose input is sorted on GROUP BY columns
/// only because they are constant within each partition; runs after DataFusion's rules.
#[derive(Debug, Default)]
pub struct ConstantOrderRule;

impl PhysicalOptimizerRule for ConstantOrderRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
                return Ok(Transformed::no(node));
            };
            if !ordered_on_constants_only(aggregate) {
                return Ok(Transformed::no(node));
            }
            let input = Arc::new(Unordered::new(Arc::clone(aggregate.input())));
            let replaced = Arc::clone(&node).replace_children(
                vec![input],
                ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
            )?;
            Ok(Transformed::yes(replaced))
        })
        .data()
    }

    fn name(&self) -> &str {
        "botlake_constant_order"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// Whether `aggregate` runs in an ordered mode and every GROUP BY column it is ordered on
/// is constant within each partition of its input, so that the order gains it nothing.
/// Aggregates with an ORDER BY of their own (`first_value(x ORDER BY t)`) keep theirs.
fn ordered_on_constants_only(aggregate: &AggregateExec) -> bool {
    if aggregate
        .aggr_expr()
        .iter()
        .any(|e| !e.order_bys().is_empty())
    {
        return false;
    }
    let group_by = aggregate.group_expr().input_exprs();
    let ordered: Vec<usize> = match aggregate.input_order_mode() {
        InputOrderMode::Linear => return false,
        InputOrderMode::PartiallySorted(indices) => indices.clone(),
        InputOrderMode::Sorted => (0..group_by.len()).collect(),
    };
    let properties = aggregate.input().equivalence_properties();
    ordered.iter().all(|&i| {
        group_by
            .get(i)
            .is_some_and(|expr| properties.is_expr_constant(expr).is_some())
    })
}

/// Its input's rows, claiming no ordering and no constants.
#[derive(Debug)]
pub struct Unordered {
    input: Arc<dyn ExecutionPlan>,
    properties: Arc<PlanProperties>,
}

impl Unordered {
    /// Wraps `input`, keeping its partitioning, emission and boundedness.
    pub fn new(input: Arc<dyn ExecutionPlan>) -> Unordered {
        let properties = input
            .properties()
            .as_ref()
            .clone()
            .with_eq_properties(EquivalenceProperties::new(input.schema()));
        Unordered {
            input,
            properties: Arc::new(properties),
        }
    }
}

impl DisplayAs for Unordered {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unordered")
    }
}

impl ExecutionPlan for Unordered {
    fn name(&self) -> &str {
        "Unordered"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(Unordered::new(children.swap_remove(0))))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.input.execute(partition, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::MemTable;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::{SessionConfig, SessionContext};

    /// Two tables of (k, n) rows in batches of 7, so that groups span batches.
    fn context(with_rule: bool) -> SessionContext {
        let config = SessionConfig::new().with_target_partitions(2);
        let mut state = datafusion::execution::session_state::SessionStateBuilder::new()
            .with_config(config)
            .with_default_features();
        if with_rule {
            state = state.with_physical_optimizer_rule(Arc::new(ConstantOrderRule));
        }
        let ctx = SessionContext::new_with_state(state.build());
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
        ]));
        for (name, rows) in [("a", 90), ("b", 40)] {
            let batches = (0..rows)
                .collect::<Vec<i64>>()
                .chunks(7)
                .map(|chunk| {
                    let k = StringArray::from_iter(
                        chunk
                            .iter()
                            .map(|i| (i % 11 != 0).then(|| format!("k{}", i % 13))),
                    );
                    let n = Int64Array::from_iter_values(chunk.iter().copied());
                    RecordBatch::try_new(schema.clone(), vec![Arc::new(k), Arc::new(n)]).unwrap()
                })
                .collect();
            let table = MemTable::try_new(schema.clone(), vec![batches]).unwrap();
            ctx.register_table(name, Arc::new(table)).unwrap();
        }
        ctx
    }

    async fn run(with_rule: bool, sql: &str) -> (String, String) {
        let df = context(with_rule).sql(sql).await.unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let plan = displayable(plan.as_ref()).indent(true).to_string();
        let rows = pretty_format_batches(&df.collect().await.unwrap())
            .unwrap()
            .to_string();
        (plan, rows)
    }

    /// As in `runs`: a literal per branch of a union, grouped on with other columns.
    const UNION: &str = "SELECT v, k, COUNT(*) AS c, SUM(n) AS s, MIN(n) AS lo FROM \
        (SELECT 'x' AS v, k, n FROM a UNION ALL SELECT 'y' AS v, k, n FROM b) \
        GROUP BY v, k ORDER BY v, k";

    #[tokio::test]
    async fn aggregates_ordered_on_constants_hash_whole_batches_with_the_same_result() {
        let (plain, expected) = run(false, UNION).await;
        assert!(plain.contains("ordering_mode=PartiallySorted"), "{plain}");
        assert!(expected.lines().count() > 20, "{expected}");
        let (plan, rows) = run(true, UNION).await;
        assert!(plan.contains("Unordered"), "{plan}");
        assert!(!plan.contains("ordering_mode"), "{plan}");
        assert_eq!(rows, expected, "{plan}");
    }

    #[tokio::test]
    async fn aggregates_without_constant_orderings_are_left_alone() {
        // Ordered on a column that is not constant: the sort below the aggregate.
        let sql = "SELECT n, k, COUNT(*) AS c FROM (SELECT k, n FROM a ORDER BY n LIMIT 50) \
             GROUP BY n, k ORDER BY n, k";
        let (plan, rows) = run(true, sql).await;
        assert!(
            plan.contains("ordering_mode=PartiallySorted([0])"),
            "{plan}"
        );
        assert!(!plan.contains("Unordered"), "{plan}");
        assert_eq!(rows, run(false, sql).await.1);
        // Not ordered at all.
        let sql = "SELECT k, COUNT(*) AS c FROM a GROUP BY k ORDER BY k";
        let (plan, rows) = run(true, sql).await;
        assert!(!plan.contains("Unordered"), "{plan}");
        assert_eq!(rows, run(false, sql).await.1);
    }
}
