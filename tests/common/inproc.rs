//! An engine in the test's own process, on a production written into a temporary folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ferry_adapter::Registry;
use ferry_message::{Header, ItemName, Status};
use ferry_production::Production;
use ferry_runtime::Engine;
use ferry_store::{Query, Store};

/// The adapters the `ferry` binary registers: its own registry file, included.
#[path = "../../src/registry.rs"]
mod binary_registry;

/// The adapters the `ferry` binary registers.
pub fn registry() -> Registry {
    binary_registry::registry()
}

/// Writes `yaml` to `dir/production.yaml` and loads it, with `${DIR}` standing for `dir`.
/// Panics with every diagnostic when it does not load.
pub fn production(dir: &Path, yaml: &str) -> Production {
    production_with(dir, yaml, &[])
}

/// Like [`production`], for productions that also use test-only adapter kinds (which
/// the check against the binary's registry skips).
pub fn production_with(dir: &Path, yaml: &str, test_kinds: &[&str]) -> Production {
    let path = dir.join("production.yaml");
    std::fs::write(&path, yaml).unwrap();
    let root = dir.display().to_string();
    let env = move |name: &str| (name == "DIR").then(|| root.clone());
    let loaded = ferry_production::load(&path, &env);
    assert!(
        loaded.diagnostics.is_empty(),
        "production errors:\n{}",
        loaded.diagnostics
    );
    let production = loaded.production.expect("production loads");
    if test_kinds.is_empty() {
        let problems = ferry_runtime::check_production(&production, &registry());
        assert!(problems.is_empty(), "adapter errors:\n{problems}");
    }
    production
}

/// A production running in this process.
pub struct Running {
    pub dir: PathBuf,
    pub engine: Engine,
    pub store: Arc<dyn Store>,
}

impl Running {
    /// Starts `yaml` (with `${DIR}` = `dir`).
    pub async fn start(dir: &Path, yaml: &str) -> Running {
        let production = production(dir, yaml);
        let engine = Engine::start(&production, std::sync::Arc::new(registry()))
            .await
            .expect("engine starts");
        let store = engine.store();
        Running {
            dir: dir.to_owned(),
            engine,
            store,
        }
    }

    /// A folder under the test folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Every header for `target`, oldest first.
    pub fn headers_for(&self, target: &str) -> Vec<Header> {
        let query = Query {
            target: Some(ItemName::new(target)),
            limit: 100_000,
            ..Query::default()
        };
        let mut headers = self.store.search(&query).unwrap();
        headers.reverse();
        headers
    }

    /// Headers for `target` in `status`.
    pub fn count(&self, target: &str, status: Status) -> usize {
        self.headers_for(target)
            .iter()
            .filter(|h| h.status == status)
            .count()
    }

    /// Stops the engine cleanly.
    pub async fn stop(self) {
        self.engine.shutdown().await.expect("clean shutdown");
    }
}

impl Running {
    /// The address service `item` listens on, once it has bound.
    pub async fn listening(&self, item: &str) -> std::net::SocketAddr {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let bound = self
                .engine
                .items()
                .into_iter()
                .find(|status| status.name.as_str() == item)
                .and_then(|status| status.listening);
            if let Some(addr) = bound {
                return addr;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{item} never listened"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}
