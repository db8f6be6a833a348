//! The production-wide check of items that services name in their settings: a name must
//! be an item, of the right role, and an operation whose reply a service waits for must
//! be one its messages reach (else every wait ends in a timeout).

use std::collections::BTreeSet;

use ferry_adapter::ItemReference;
use ferry_message::ItemName;
use ferry_production::{Diagnostics, Item, Otherwise, Production, Role, RuleAction};

/// Every problem with the references of `service`.
pub(crate) fn check_references(
    production: &Production,
    service: &Item,
    references: &[ItemReference],
) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    for reference in references {
        let named = production
            .items
            .iter()
            .find(|item| item.name == reference.name);
        let problem = match named {
            None => Some(format!(
                "`{}` names '{}', which is not an item of this production",
                reference.setting, reference.name
            )),
            Some(item) if reference.downstream && item.role != Role::Operation => Some(format!(
                "`{}` names '{}', which is not an operation",
                reference.setting, reference.name
            )),
            Some(item) if item.role == Role::Service => Some(format!(
                "`{}` names '{}', a service: it cannot be sent messages",
                reference.setting, reference.name
            )),
            Some(_) if reference.downstream && !reaches(production, service, &reference.name) => {
                Some(format!(
                    "`{}` names '{}', which this service's messages never reach: every \
                     wait for its reply would time out",
                    reference.setting, reference.name
                ))
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            diagnostics.push(service.diagnostic(reference.at, problem));
        }
    }
    diagnostics
}

/// True when messages of `service` can reach `target` through targets and router rules.
fn reaches(production: &Production, service: &Item, target: &ItemName) -> bool {
    let mut seen = BTreeSet::new();
    let mut next: Vec<ItemName> = service.targets.clone();
    while let Some(name) = next.pop() {
        if &name == target {
            return true;
        }
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(item) = production.items.iter().find(|item| item.name == name) {
            next.extend(sends_to(item));
        }
    }
    false
}

/// Where an item can send: its targets and every target its router names.
fn sends_to(item: &Item) -> Vec<ItemName> {
    let mut targets = item.targets.clone();
    if let Some(router) = &item.router {
        for rule in &router.rules {
            if let RuleAction::Send(send) = &rule.action {
                targets.extend(send.iter().cloned());
            }
        }
        if let Otherwise::Send(send) = &router.otherwise {
            targets.extend(send.iter().cloned());
        }
    }
    targets
}
