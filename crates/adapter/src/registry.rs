//! Factories that turn an item of a production into a running adapter.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferry_production::{Diagnostics, Item};

use crate::{Operation, Service};

/// Builds services of one kind (`file`, `mllp`, …) from their settings.
pub trait ServiceFactory: Send + Sync {
    /// The kind name a production writes after `service:`.
    fn kind(&self) -> &'static str;

    /// Builds the service from `item`'s settings, without any I/O.
    ///
    /// # Errors
    ///
    /// Every problem with the settings, each at its place in the production file.
    fn build(&self, item: &Item) -> Result<Box<dyn Service>, Diagnostics>;
}

/// Builds operations of one kind from their settings.
pub trait OperationFactory: Send + Sync {
    /// The kind name a production writes after `operation:`.
    fn kind(&self) -> &'static str;

    /// Builds the operation from `item`'s settings, without any I/O.
    ///
    /// # Errors
    ///
    /// Every problem with the settings, each at its place in the production file.
    fn build(&self, item: &Item) -> Result<Arc<dyn Operation>, Diagnostics>;
}

/// The adapters a binary knows, by kind name.
#[derive(Default)]
pub struct Registry {
    services: BTreeMap<&'static str, Box<dyn ServiceFactory>>,
    operations: BTreeMap<&'static str, Box<dyn OperationFactory>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("services", &self.service_kinds())
            .field("operations", &self.operation_kinds())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Adds a service kind.
    pub fn add_service(&mut self, factory: impl ServiceFactory + 'static) -> &mut Self {
        self.services.insert(factory.kind(), Box::new(factory));
        self
    }

    /// Adds an operation kind.
    pub fn add_operation(&mut self, factory: impl OperationFactory + 'static) -> &mut Self {
        self.operations.insert(factory.kind(), Box::new(factory));
        self
    }

    /// The factory for a service kind.
    pub fn service(&self, kind: &str) -> Option<&dyn ServiceFactory> {
        self.services.get(kind).map(|factory| factory.as_ref())
    }

    /// The factory for an operation kind.
    pub fn operation(&self, kind: &str) -> Option<&dyn OperationFactory> {
        self.operations.get(kind).map(|factory| factory.as_ref())
    }

    /// Every service kind, sorted (for "expected one of" hints).
    pub fn service_kinds(&self) -> Vec<&'static str> {
        self.services.keys().copied().collect()
    }

    /// Every operation kind, sorted.
    pub fn operation_kinds(&self) -> Vec<&'static str> {
        self.operations.keys().copied().collect()
    }
}
