//! Building every item of a production, which is also how `ferry validate` checks it:
//! adapters parse their settings without I/O, so building is a complete, harmless check.

use std::sync::Arc;

use ferry_adapter::{Operation, Registry, Service};
use ferry_production::{Diagnostics, Item, Production, Role};

use crate::router::Router;

/// An item built and ready to run.
pub(crate) enum Built {
    Service(Box<dyn Service>),
    Router(Arc<Router>),
    Operation(Arc<dyn Operation>),
}

/// Every problem with the production's items that the adapters find in their settings,
/// plus unknown kinds. Empty when the production can run.
pub fn check_production(production: &Production, registry: &Registry) -> Diagnostics {
    match build_items(production, registry) {
        Ok(_) => Diagnostics::default(),
        Err(diagnostics) => diagnostics,
    }
}

/// Builds every item, in production order, or returns every problem found.
pub(crate) fn build_items(
    production: &Production,
    registry: &Registry,
) -> Result<Vec<Built>, Diagnostics> {
    let mut built = Vec::new();
    let mut diagnostics = Diagnostics::default();
    for item in &production.items {
        match build_item(item, registry) {
            Ok(one) => built.push(one),
            Err(problems) => diagnostics.extend(problems),
        }
    }

    if diagnostics.is_empty() {
        Ok(built)
    } else {
        Err(diagnostics)
    }
}

fn build_item(item: &Item, registry: &Registry) -> Result<Built, Diagnostics> {
    match item.role {
        Role::Service => match registry.service(&item.kind) {
            Some(factory) => factory.build(item).map(Built::Service),
            None => Err(unknown_kind(item, "service", &registry.service_kinds())),
        },
        Role::Operation => match registry.operation(&item.kind) {
            Some(factory) => factory.build(item).map(Built::Operation),
            None => Err(unknown_kind(item, "operation", &registry.operation_kinds())),
        },
        Role::Process => match &item.router {
            Some(spec) => Ok(Built::Router(Arc::new(Router::new(spec.clone())))),
            None => Err(unknown_kind(item, "process", &["router"])),
        },
    }
}

fn unknown_kind(item: &Item, role: &str, known: &[&str]) -> Diagnostics {
    let mut diagnostic = item.diagnostic(
        item.at,
        format!("item '{}': unknown {role} kind '{}'", item.name, item.kind),
    );
    diagnostic.hint = Some(format!("this build of Ferry knows: {}", known.join(", ")));
    let mut diagnostics = Diagnostics::default();
    diagnostics.push(diagnostic);
    diagnostics
}
