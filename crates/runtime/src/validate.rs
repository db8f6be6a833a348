//! Building every item of a production, which is also how `ferry validate` checks it:
//! adapters parse their settings without I/O, so building is a complete, harmless check.

use std::sync::Arc;

use ferry_adapter::{FolderUse, Operation, Registry, Service, same_folder, within_folder};
use ferry_production::{Diagnostics, Item, Production, Role};

use crate::references::check_references;
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
    let mut diagnostics = match build_items(production, registry) {
        Ok(_) => Diagnostics::default(),
        Err(diagnostics) => diagnostics,
    };

    // Items the loader refused for other reasons (a duplicate name) never run, but their
    // settings and kinds are checked too, so one run reports everything.
    for item in &production.rejected {
        if let Err(problems) = build_item(item, registry) {
            diagnostics.extend(problems);
        }
    }
    diagnostics
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

    diagnostics.extend(check_folders(production, &built));
    for (item, one) in production.items.iter().zip(&built) {
        if let Built::Service(service) = one {
            let references = service.references();
            diagnostics.extend(check_references(production, item, &references));
        }
    }
    if diagnostics.is_empty() {
        Ok(built)
    } else {
        Err(diagnostics)
    }
}

/// Refuses a production that feeds its own input (an item writing into a folder another,
/// or the same, item polls: the same messages would be taken again and again) or uses
/// the store's folder.
fn check_folders(production: &Production, built: &[Built]) -> Diagnostics {
    let uses: Vec<(&Item, FolderUse)> = production
        .items
        .iter()
        .zip(built)
        .flat_map(|(item, built)| built.folders().into_iter().map(move |u| (item, u)))
        .collect();

    let mut diagnostics = Diagnostics::default();
    for (poller, polled) in uses.iter().filter(|(_, u)| u.polled) {
        for (writer, written) in uses.iter().filter(|(_, u)| !u.polled) {
            if same_folder(&written.path, &polled.path) {
                let mut diagnostic = writer.diagnostic(
                    written.at,
                    format!(
                        "item '{}' writes into {} (its `{}`), the folder item '{}' polls: \
                         messages would loop",
                        writer.name,
                        written.path.display(),
                        written.setting,
                        poller.name
                    ),
                );
                diagnostic.hint = Some("write to a folder no service polls".to_owned());
                diagnostics.push(diagnostic);
            }
        }
    }

    // The store folder belongs to the store: a file dropped into it can make it unopenable.
    for (item, used) in &uses {
        if within_folder(&used.path, &production.store.path) {
            let mut diagnostic = item.diagnostic(
                used.at,
                format!(
                    "item '{}' {} {} (its `{}`), inside the store folder {}",
                    item.name,
                    if used.polled { "polls" } else { "writes into" },
                    used.path.display(),
                    used.setting,
                    production.store.path.display()
                ),
            );
            diagnostic.hint = Some("the store folder belongs to Ferry; use another".to_owned());
            diagnostics.push(diagnostic);
        }
    }
    diagnostics
}

impl Built {
    fn folders(&self) -> Vec<FolderUse> {
        match self {
            Built::Service(service) => service.folders(),
            Built::Operation(operation) => operation.folders(),
            Built::Router(_) => Vec::new(),
        }
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
