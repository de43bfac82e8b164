//! Tables named by a file or URL (`SELECT * FROM 'kpi.parquet'`), as DataFusion's
//! `enable_url_table` makes them, but saying why a file that is there, or an object, cannot
//! be read: DataFusion drops the cause and answers that no such table exists, which sent a
//! user without S3 credentials or with a `.xlsx` file looking for a typo.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{DynamicFileCatalog, TableProvider, UrlTableFactory};
use datafusion::datasource::dynamic_file::DynamicListTableFactory;
use datafusion::datasource::listing::{ListingTableConfig, ListingTableConfigExt, ListingTableUrl};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::context::SessionState;
use datafusion::prelude::SessionContext;

/// `ctx` with files and URLs naming tables.
pub fn with_url_tables(ctx: SessionContext) -> SessionContext {
    let factory = Arc::new(FileTables::default());
    let catalogs = Arc::new(DynamicFileCatalog::new(
        Arc::clone(ctx.state().catalog_list()),
        Arc::clone(&factory) as Arc<dyn UrlTableFactory>,
    ));
    let session_id = ctx.session_id();
    let ctx: SessionContext = ctx
        .into_state_builder()
        .with_session_id(session_id)
        .with_catalog_list(catalogs)
        .build()
        .into();
    factory
        .inner
        .session_store()
        .with_state(ctx.state_weak_ref());
    ctx
}

/// Whether `name` names a file or object rather than a table: a URL, or a path that is there.
pub fn names_a_file(name: &str) -> bool {
    name.contains("://") || std::path::Path::new(name).exists()
}

/// DataFusion's factory, and the cause of its failure where the name is of something there.
#[derive(Debug, Default)]
struct FileTables {
    inner: DynamicListTableFactory,
}

#[async_trait]
impl UrlTableFactory for FileTables {
    async fn try_new(&self, url: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(table) = self.inner.try_new(url).await? {
            return Ok(Some(table));
        }
        // A name of nothing there is a table that does not exist, as before.
        if !names_a_file(url) {
            return Ok(None);
        }
        let Ok(table_url) = ListingTableUrl::parse(url) else {
            return Ok(None);
        };
        let Some(state) = self
            .inner
            .session_store()
            .get_session()
            .upgrade()
            .and_then(|s| s.read().as_any().downcast_ref::<SessionState>().cloned())
        else {
            return Ok(None);
        };
        match ListingTableConfig::new(table_url)
            .infer_options(&state)
            .await
        {
            Err(e) => Err(DataFusionError::Context(
                format!("cannot read {url}"),
                Box::new(e),
            )),
            Ok(_) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn files_that_cannot_be_read_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let sheet = dir.path().join("kpi.xlsx");
        std::fs::write(&sheet, "PK").unwrap();
        let ctx = crate::new_context();
        let error = |name: String| {
            let ctx = ctx.clone();
            async move {
                ctx.sql(&format!("SELECT * FROM '{name}'"))
                    .await
                    .unwrap_err()
                    .to_string()
            }
        };
        let e = error(sheet.display().to_string()).await;
        assert!(
            e.contains("cannot read") && e.contains("No file_format found with extension xlsx"),
            "{e}"
        );
        // Not there: no such table, as DataFusion says.
        let e = error(dir.path().join("none.parquet").display().to_string()).await;
        assert!(e.contains("not found") && !e.contains("cannot read"), "{e}");
    }
}
