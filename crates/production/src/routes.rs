//! What items refer to: unique names, targets that exist and can receive, no cycles.
//!
//! Owns the checks across items. Names are case-sensitive and unique. A target (a
//! service's `targets`, a router's `send` and `otherwise`) must name an item that is not a
//! service, since services only receive from outside. Processes must not form a cycle
//! (router A → router B → router A), or a message would circle forever. An item whose
//! targets do not resolve, or whose name another item already has, is left out of the
//! production's items (and kept among its rejected ones); a cycle is reported once, at the
//! reference that closes it. Every item's references are checked, also those of an item
//! with problems of its own or a repeated name, so that one run shows them all.

use std::collections::{HashMap, HashSet};

use crate::diagnostic::{Diagnostics, Location};
use crate::items::Entry;
use crate::load::Context;
use crate::model::{Item, Role};
use crate::suggest;

/// The items after every check.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// The items that passed every check, in file order.
    pub(crate) items: Vec<Item>,
    /// The items that were built but failed a check, in file order.
    pub(crate) rejected: Vec<Item>,
}

/// Checks names and references; sorts the items into those that passed every check and
/// those that did not.
pub(crate) fn check(cx: &Context<'_>, entries: Vec<Entry>, problems: &mut Diagnostics) -> Checked {
    let (names, repeated) = unique_names(cx, &entries, problems);
    let mut passed: Vec<bool> = entries.iter().map(|entry| entry.valid).collect();
    for index in repeated {
        passed[index] = false;
    }
    for (index, entry) in entries.iter().enumerate() {
        if !references_resolve(cx, entry, &names, problems) {
            passed[index] = false;
        }
    }
    report_cycles(cx, &entries, &names, problems);

    let mut checked = Checked::default();
    for (entry, passed) in entries.into_iter().zip(passed) {
        match (entry.item, passed) {
            (Some(item), true) => checked.items.push(item),
            (Some(item), false) => checked.rejected.push(item),
            (None, _) => {}
        }
    }
    checked
}

/// What a name refers to: the entry's index and its role, if known.
type Names = HashMap<String, (usize, Option<Role>)>;

/// Every name, first use kept; a second use is reported with both lines, and its entry
/// index returned so that the item is left out.
fn unique_names(
    cx: &Context<'_>,
    entries: &[Entry],
    problems: &mut Diagnostics,
) -> (Names, Vec<usize>) {
    let mut names = Names::new();
    let mut repeated = Vec::new();
    let mut first_at: HashMap<&str, Location> = HashMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let Some((name, at)) = &entry.name else {
            continue;
        };
        let Some(first) = first_at.get(name.as_str()) else {
            first_at.insert(name, *at);
            names.insert(name.clone(), (index, entry.role));
            continue;
        };
        let lines = if first.line == at.line {
            format!("twice on line {}", at.line)
        } else {
            format!("at lines {} and {}", first.line, at.line)
        };
        let message = format!("item name `{name}` is used {lines}");
        problems.push(
            cx.error(*at, message)
                .with_hint("item names must be unique"),
        );
        repeated.push(index);
    }
    (names, repeated)
}

/// Checks an item's references; false if one does not resolve to an item that can receive.
fn references_resolve(
    cx: &Context<'_>,
    entry: &Entry,
    names: &Names,
    problems: &mut Diagnostics,
) -> bool {
    let mut resolve = true;
    for (name, at) in &entry.references {
        match names.get(name) {
            None => {
                let mut diagnostic = cx.error(*at, format!("unknown target `{name}`"));
                if let Some(close) = suggest::closest(name, names.keys().map(String::as_str)) {
                    diagnostic = diagnostic.with_hint(format!("did you mean `{close}`?"));
                }
                problems.push(diagnostic);
                resolve = false;
            }
            Some((_, Some(Role::Service))) => {
                let message = format!("`{name}` is a service and cannot receive messages");
                let hint = "send to a process or an operation";
                problems.push(cx.error(*at, message).with_hint(hint));
                resolve = false;
            }
            Some(_) => {}
        }
    }
    resolve
}

/// Reports each cycle among processes once.
fn report_cycles(cx: &Context<'_>, entries: &[Entry], names: &Names, problems: &mut Diagnostics) {
    let graph = process_graph(entries, names);
    let mut reported: HashSet<Vec<usize>> = HashSet::new();
    for cycle in find_cycles(&graph) {
        let mut members: Vec<usize> = cycle.path.clone();
        members.sort_unstable();
        members.dedup();
        if !reported.insert(members) {
            continue;
        }
        let shown: Vec<String> = cycle
            .path
            .iter()
            .chain(cycle.path.first())
            .filter_map(|&index| {
                entries[index]
                    .name
                    .as_ref()
                    .map(|(name, _)| format!("`{name}`"))
            })
            .collect();
        let message = format!("routing cycle: {}", shown.join(" → "));
        let hint = "a message would circle between these processes forever; end the route at an \
                    operation";
        problems.push(cx.error(cycle.closed_at, message).with_hint(hint));
    }
}

/// Edges between processes: entry index → (target entry index, where the reference is).
/// Every process counts, also one with problems of its own: its cycle is a problem too.
fn process_graph(entries: &[Entry], names: &Names) -> Vec<Vec<(usize, Location)>> {
    let is_process = |index: usize| entries[index].role == Some(Role::Process);
    entries
        .iter()
        .enumerate()
        .map(|(index, entry)| {
            if !is_process(index) {
                return Vec::new();
            }
            entry
                .references
                .iter()
                .filter_map(|(name, at)| {
                    let &(target, _) = names.get(name)?;
                    is_process(target).then_some((target, *at))
                })
                .collect()
        })
        .collect()
}

/// A cycle: the entries in order, and the reference that leads back to the first.
struct Cycle {
    path: Vec<usize>,
    closed_at: Location,
}

/// Depth-first search without recursion (a production may have many items); every edge
/// back to an item still on the search path closes a cycle.
fn find_cycles(graph: &[Vec<(usize, Location)>]) -> Vec<Cycle> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks = vec![Mark::New; graph.len()];
    let mut cycles = Vec::new();
    for start in 0..graph.len() {
        if marks[start] != Mark::New {
            continue;
        }
        marks[start] = Mark::OnPath;
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        while let Some((node, next_edge)) = path.last_mut() {
            let node = *node;
            let Some(&(target, at)) = graph[node].get(*next_edge) else {
                marks[node] = Mark::Done;
                path.pop();
                continue;
            };
            *next_edge += 1;
            match marks[target] {
                Mark::New => {
                    marks[target] = Mark::OnPath;
                    path.push((target, 0));
                }
                Mark::OnPath => {
                    let from = path
                        .iter()
                        .position(|(member, _)| *member == target)
                        .unwrap_or(0);
                    let members = path[from..].iter().map(|(member, _)| *member).collect();
                    cycles.push(Cycle {
                        path: members,
                        closed_at: at,
                    });
                }
                Mark::Done => {}
            }
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_loops_and_self_loops() {
        let at = Location::START;
        let graph = vec![vec![(1, at)], vec![(0, at), (2, at)], vec![(2, at)], vec![]];
        let cycles: Vec<Vec<usize>> = find_cycles(&graph).into_iter().map(|c| c.path).collect();
        assert_eq!(cycles, vec![vec![0, 1], vec![2]]);
    }

    #[test]
    fn a_diamond_is_not_a_cycle() {
        let at = Location::START;
        let graph = vec![vec![(1, at), (2, at)], vec![(3, at)], vec![(3, at)], vec![]];
        assert!(find_cycles(&graph).is_empty());
    }
}
