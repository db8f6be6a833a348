//! Each entry of `items:`, read on its own and checked.
//!
//! Owns the per-item rules: a name, exactly one of `service`/`process`/`operation`,
//! which keys each role may have (targets for services; pool, queue limit for processes
//! and operations; retry for operations; rules for routers), value ranges, rule actions
//! and `when:` expressions. An item with a problem of its own is still built as far as its
//! name, role and kind allow, and marked invalid: it never runs, but the names it refers to
//! are still checked and an adapter can still check its settings, so that one run reports
//! all of its problems. Its name and role are kept (from the outline) so that references
//! to it are checked without a cascade of "unknown target" errors. What names refer to is
//! checked afterwards, across items, in [`crate::routes`].

use std::collections::HashSet;
use std::sync::Arc;

use ferry_message::ItemName;
use serde_saphyr::Spanned;

use crate::condition;
use crate::diagnostic::{Diagnostics, Location};
use crate::document::ItemText;
use crate::load::Context;
use crate::model::{
    FailureAction, Item, Otherwise, RetryPolicy, Role, RouterSpec, RuleAction, RuleSpec,
};
use crate::outline::{Node, Outline};
use crate::raw::{ItemRaw, Names, OtherwiseRaw, RetryRaw, RuleRaw};
use crate::settings::SettingsText;
use crate::store::positive_duration;
use crate::suggest;

const MAX_POOL: i64 = 64;
const DEFAULT_QUEUE_LIMIT: u64 = 10_000;
const ROLES: [(&str, Role); 3] = [
    ("service", Role::Service),
    ("process", Role::Process),
    ("operation", Role::Operation),
];

/// One entry of `items:` as far as it could be read.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The name and where it is written, if there is one.
    pub(crate) name: Option<(String, Location)>,
    /// The role, if exactly one is given.
    pub(crate) role: Option<Role>,
    /// The item, when its name, role and kind could be read.
    pub(crate) item: Option<Item>,
    /// True when the item has no problem of its own.
    pub(crate) valid: bool,
    /// The item names it refers to, with their positions, as far as they could be read.
    pub(crate) references: Vec<(String, Location)>,
}

/// Reads every entry of `items:`.
pub(crate) fn read(cx: &Context<'_>, root: &Node, problems: &mut Diagnostics) -> Vec<Entry> {
    let Some(items) = cx.outline.get(root, "items") else {
        let diagnostic = cx.error(root.at, "missing `items:`, the production's items");
        problems.push(diagnostic.with_hint("list its services, processes and operations"));
        return Vec::new();
    };
    if items.is_null() {
        return Vec::new();
    }
    if items.elements().is_none() {
        problems.push(cx.error(items.at, "`items` must be a list of items"));
        return Vec::new();
    }
    let ranges = ranges(&cx.source().text, cx.outline, root, items);
    items
        .elements()
        .unwrap_or_default()
        .iter()
        .zip(ranges)
        .enumerate()
        .map(|(index, (&id, alone))| {
            let text = ItemText { index, alone };
            entry(cx, text, cx.outline.resolve(id), problems)
        })
        .collect()
}

/// Where each item can be read on its own (see [`crate::document`]): mappings in a block
/// sequence, without aliases, each from its first character to the end of the line where it ends,
/// never past the line where the next item (or the next top-level key) starts.
fn ranges(text: &str, outline: &Outline, root: &Node, items: &Node) -> Vec<Option<(usize, usize)>> {
    let elements = items.elements().unwrap_or_default();
    let flow = |node: &Node| matches!(text.as_bytes().get(node.offset), Some(b'[' | b'{'));
    if flow(root) || flow(items) || outline.has_lone_cr() {
        return vec![None; elements.len()];
    }

    let line_start = |offset: usize| {
        let before = text.get(..offset).unwrap_or_default();
        before.rfind('\n').map_or(0, |newline| newline + 1)
    };
    let after_items = outline
        .entries(root)
        .map(|(key, _)| key.offset)
        .filter(|&offset| offset > items.offset)
        .min()
        .map_or(text.len(), line_start);
    let mut next_starts: Vec<usize> = elements
        .iter()
        .skip(1)
        .map(|&id| line_start(outline.node(id).offset))
        .collect();
    next_starts.push(after_items);

    elements
        .iter()
        .zip(next_starts)
        .map(|(&id, next_start)| {
            let node = outline.node(id);
            let line_end = text
                .get(node.end..)
                .and_then(|rest| rest.find('\n'))
                .map_or(text.len(), |newline| node.end + newline + 1);
            let end = line_end.min(next_start);
            let alone = node.entries().is_some() && !outline.has_alias(node);
            (alone && node.offset < end).then_some((node.offset, end))
        })
        .collect()
}

fn entry(cx: &Context<'_>, text: ItemText, node: &Node, problems: &mut Diagnostics) -> Entry {
    let name = cx
        .outline
        .get(node, "name")
        .and_then(|name| Some((name.text()?.to_owned(), name.at)));
    let mut entry = Entry {
        name,
        role: None,
        item: None,
        valid: false,
        references: Vec::new(),
    };
    if node.entries().is_none() {
        let message = "an item is a mapping: `name:` and one of service, process or operation";
        problems.push(cx.error(node.at, message));
        return entry;
    }

    let mut own = Diagnostics::new();
    let role = role_of(cx, node, &mut own);
    entry.role = role;
    if let Ok(Some(raw)) = cx.read_item::<ItemRaw>(text, &[], &mut own) {
        let mut check = Check {
            cx,
            text,
            node,
            own: &mut own,
        };
        let (item, references) = check.build(&raw, role);
        entry.name = check.name(&raw).or(entry.name);
        entry.item = item;
        entry.references = references;
        entry.valid = own.is_empty();
    }
    problems.extend(own);
    entry
}

/// The one role key of an item, from the outline (so that its position is known).
fn role_of(cx: &Context<'_>, node: &Node, own: &mut Diagnostics) -> Option<Role> {
    let given: Vec<(Role, Location)> = cx
        .outline
        .entries(node)
        .filter_map(|(key, _)| {
            let (_, role) = ROLES.iter().find(|(name, _)| key.text() == Some(*name))?;
            Some((*role, key.at))
        })
        .collect();
    match given.as_slice() {
        [(role, _)] => Some(*role),
        [] => {
            let message = "an item needs one of `service:`, `process:` or `operation:`";
            let hint = "e.g. service: file, process: router or operation: file";
            own.push(cx.error(node.at, message).with_hint(hint));
            None
        }
        [(first, _), (second, at), ..] => {
            let message = format!("an item cannot have both `{first}:` and `{second}:`");
            let hint = "an item is exactly one of service, process and operation";
            own.push(cx.error(*at, message).with_hint(hint));
            None
        }
    }
}

/// The checks of one item; problems go to `own`.
struct Check<'c, 'a> {
    cx: &'c Context<'a>,
    text: ItemText,
    node: &'c Node,
    own: &'c mut Diagnostics,
}

impl Check<'_, '_> {
    fn error(&mut self, at: impl Into<Location>, message: impl Into<String>) {
        self.own.push(self.cx.error(at.into(), message));
    }

    fn hinted(
        &mut self,
        at: impl Into<Location>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.own
            .push(self.cx.error(at.into(), message).with_hint(hint));
    }

    /// The item, when its name, role and kind are usable, and the names it refers to.
    fn build(
        &mut self,
        raw: &ItemRaw,
        role: Option<Role>,
    ) -> (Option<Item>, Vec<(String, Location)>) {
        let name = self.checked_name(raw);
        let kind = role.and_then(|role| self.kind(raw, role));
        let mut references = Vec::new();
        let targets = self.targets(raw, role, &mut references);
        let (pool, queue_limit) = self.capacity(raw, role);
        let retry = self.retry(raw, role);
        let router = self.router(raw, role, &mut references);

        let (Some((name, _)), Some(role), Some(kind)) = (name, role, kind) else {
            return (None, references);
        };
        let item = Item {
            index: self.text.index,
            name: ItemName::from(name),
            at: self.node.at,
            role,
            kind,
            enabled: raw.enabled.unwrap_or(true),
            pool,
            queue_limit,
            targets,
            retry,
            router,
            settings: self
                .cx
                .outline
                .given(self.node, "settings")
                .map(|node| SettingsText::of(self.cx, node)),
            text: self.text,
            document: Arc::clone(self.cx.document),
        };
        (Some(item), references)
    }

    /// The name as read (after interpolation), without checks.
    fn name(&self, raw: &ItemRaw) -> Option<(String, Location)> {
        raw.name
            .as_ref()
            .map(|name| (name.value.clone(), name.referenced.into()))
    }

    fn checked_name(&mut self, raw: &ItemRaw) -> Option<(String, Location)> {
        let Some((name, at)) = self.name(raw) else {
            self.hinted(self.node.at, "an item needs a `name:`", "e.g. name: ADT in");
            return None;
        };
        if name.trim().is_empty() {
            self.error(at, "the item name is empty");
            return None;
        }
        if name.chars().any(char::is_control) {
            self.error(
                at,
                format!("item name {name:?} contains a control character"),
            );
            return None;
        }
        Some((name, at))
    }

    /// The adapter or process kind named by the role key.
    fn kind(&mut self, raw: &ItemRaw, role: Role) -> Option<String> {
        let written = match role {
            Role::Service => &raw.service,
            Role::Process => &raw.process,
            Role::Operation => &raw.operation,
        };
        let needs = format!("`{role}:` needs a kind, e.g. {role}: file");
        let Some(kind) = written else {
            self.error(self.node.at, needs);
            return None;
        };
        if kind.value.trim().is_empty() {
            self.error(kind.referenced, needs);
            return None;
        }
        if role == Role::Process && kind.value != "router" {
            let message = format!("unknown process kind `{}`", kind.value);
            self.hinted(
                kind.referenced,
                message,
                "the only process kind is `router`",
            );
            return None;
        }
        Some(kind.value.clone())
    }

    /// A service's targets; the other roles have none.
    fn targets(
        &mut self,
        raw: &ItemRaw,
        role: Option<Role>,
        references: &mut Vec<(String, Location)>,
    ) -> Vec<ItemName> {
        match (role, &raw.targets) {
            (Some(Role::Service), Some(targets)) => self.names(targets, "targets", references),
            (Some(Role::Service), None) => {
                let message = "a service needs `targets:`, the items it sends what it receives to";
                self.hinted(self.node.at, message, "e.g. targets: [Router]");
                Vec::new()
            }
            (Some(role), Some(targets)) => {
                let message = match role {
                    Role::Process => "a process has no `targets:`; a router sends by its rules",
                    _ => "an operation has no `targets:`; it delivers outside Ferry",
                };
                self.error(targets.referenced, message);
                Vec::new()
            }
            (None, _) | (Some(_), None) => Vec::new(),
        }
    }

    /// A list of item names, checked for emptiness and repeats; recorded as references.
    fn names(
        &mut self,
        names: &Spanned<Names>,
        key: &str,
        references: &mut Vec<(String, Location)>,
    ) -> Vec<ItemName> {
        let located = names.value.located(names.referenced.into());
        if located.is_empty() {
            let hint = match key {
                "send" => "name at least one item, or write `discard: true`",
                _ => "name at least one item",
            };
            self.hinted(names.referenced, format!("`{key}` is empty"), hint);
        }
        let mut seen = HashSet::new();
        for (name, at) in &located {
            if !seen.insert(name.as_str()) {
                self.error(*at, format!("`{name}` is named twice in this list"));
            }
        }
        references.extend(located.iter().cloned());
        located
            .into_iter()
            .map(|(name, _)| ItemName::from(name))
            .collect()
    }

    /// Pool and queue limit, for processes and operations.
    fn capacity(&mut self, raw: &ItemRaw, role: Option<Role>) -> (usize, u64) {
        if role == Some(Role::Service) {
            for (key, given) in [("pool", &raw.pool), ("queue_limit", &raw.queue_limit)] {
                if let Some(given) = given {
                    let message = format!("`{key}` applies to processes and operations only");
                    self.error(given.referenced, message);
                }
            }
            return (1, DEFAULT_QUEUE_LIMIT);
        }
        (
            self.pool(raw.pool.as_ref()),
            self.queue_limit(raw.queue_limit.as_ref()),
        )
    }

    fn pool(&mut self, pool: Option<&Spanned<i64>>) -> usize {
        let Some(pool) = pool else { return 1 };
        match usize::try_from(pool.value) {
            Ok(workers) if (1..=MAX_POOL).contains(&pool.value) => workers,
            _ => {
                let message = format!("`pool` must be from 1 to {MAX_POOL}, found {}", pool.value);
                let hint = "the number of workers; 1 keeps messages in strict order";
                self.hinted(pool.referenced, message, hint);
                1
            }
        }
    }

    fn queue_limit(&mut self, limit: Option<&Spanned<i64>>) -> u64 {
        let Some(limit) = limit else {
            return DEFAULT_QUEUE_LIMIT;
        };
        match u64::try_from(limit.value) {
            Ok(limit) if limit >= 1 => limit,
            _ => {
                let message = format!("`queue_limit` must be at least 1, found {}", limit.value);
                self.error(limit.referenced, message);
                DEFAULT_QUEUE_LIMIT
            }
        }
    }

    /// An operation's retry policy; the defaults for the other roles.
    fn retry(&mut self, raw: &ItemRaw, role: Option<Role>) -> RetryPolicy {
        match (&raw.retry, role) {
            (Some(retry), Some(Role::Operation) | None) => self.retry_policy(&retry.value),
            (Some(retry), Some(_)) => {
                self.error(retry.referenced, "`retry` applies to operations only");
                RetryPolicy::default()
            }
            (None, _) => RetryPolicy::default(),
        }
    }

    fn retry_policy(&mut self, raw: &RetryRaw) -> RetryPolicy {
        let defaults = RetryPolicy::default();
        let cx = self.cx;
        let mut positive = |text: Option<&Spanned<String>>, key: &str| {
            text.and_then(|text| positive_duration(cx, text, key, self.own))
        };
        let interval = positive(raw.interval.as_ref(), "interval");
        let max_interval = positive(raw.max_interval.as_ref(), "max_interval");
        let failure_timeout = positive(raw.failure_timeout.as_ref(), "failure_timeout");

        let policy = RetryPolicy {
            interval: interval.unwrap_or(defaults.interval),
            backoff: self.backoff(raw.backoff.as_ref()),
            max_interval: max_interval.unwrap_or(defaults.max_interval),
            failure_timeout,
            on_failure: self.on_failure(raw.on_failure.as_ref()),
        };
        if let (Some(at), true) = (&raw.max_interval, policy.max_interval < policy.interval) {
            let message = "`max_interval` is shorter than `interval`";
            let hint = "the longest wait cannot be shorter than the first";
            self.hinted(at.referenced, message, hint);
        }
        policy
    }

    fn backoff(&mut self, backoff: Option<&Spanned<f64>>) -> f64 {
        let Some(backoff) = backoff else { return 2.0 };
        if backoff.value.is_finite() && backoff.value >= 1.0 {
            return backoff.value;
        }
        let message = format!(
            "`backoff` must be a number of at least 1.0, found {}",
            backoff.value
        );
        let hint = "each wait is the previous one times this; 1.0 keeps the interval fixed";
        self.hinted(backoff.referenced, message, hint);
        2.0
    }

    fn on_failure(&mut self, written: Option<&Spanned<String>>) -> FailureAction {
        let Some(written) = written else {
            return FailureAction::Error;
        };
        match written.value.as_str() {
            "error" => FailureAction::Error,
            "suspend" => FailureAction::Suspend,
            other => {
                let message = format!("unknown `on_failure: {other}`");
                let hint = suggest::hint(other, ["error", "suspend"]);
                self.hinted(written.referenced, message, hint);
                FailureAction::Error
            }
        }
    }

    /// A router's rules and `otherwise`; other roles may have neither.
    fn router(
        &mut self,
        raw: &ItemRaw,
        role: Option<Role>,
        references: &mut Vec<(String, Location)>,
    ) -> Option<RouterSpec> {
        if role != Some(Role::Process) {
            self.refuse_routing(raw, role);
            return None;
        }
        let rules = raw.rules.as_ref().map_or(&[][..], |rules| &rules.value[..]);
        let rules = rules
            .iter()
            .filter_map(|rule| self.rule(rule, references))
            .collect();
        let otherwise = self.otherwise(raw.otherwise.as_ref(), references);
        Some(RouterSpec { rules, otherwise })
    }

    fn refuse_routing(&mut self, raw: &ItemRaw, role: Option<Role>) {
        if role.is_none() {
            return;
        }
        if let Some(rules) = &raw.rules {
            self.error(rules.referenced, "only a router has `rules`");
        }
        if let Some(otherwise) = &raw.otherwise {
            self.error(otherwise.referenced, "only a router has `otherwise`");
        }
    }

    fn rule(
        &mut self,
        rule: &Spanned<RuleRaw>,
        references: &mut Vec<(String, Location)>,
    ) -> Option<RuleSpec> {
        let raw = &rule.value;
        let condition = condition::compile(raw.when.as_ref(), self.cx.source());
        let condition = condition
            .map_err(|diagnostic| self.own.push(diagnostic))
            .ok();
        let action = self.action(rule, references);
        Some(RuleSpec {
            name: raw.name.clone(),
            condition: condition?,
            action: action?,
            continue_after: raw.continue_after.unwrap_or(false),
        })
    }

    /// Exactly one of `send: [...]` and `discard: true`.
    fn action(
        &mut self,
        rule: &Spanned<RuleRaw>,
        references: &mut Vec<(String, Location)>,
    ) -> Option<RuleAction> {
        let discard = rule.value.discard.as_ref();
        match (&rule.value.send, discard) {
            (Some(_), Some(discard)) if discard.value => {
                let message = "a rule has either `send` or `discard: true`, not both";
                self.error(discard.referenced, message);
                None
            }
            (Some(send), _) => Some(RuleAction::Send(self.names(send, "send", references))),
            (None, Some(discard)) if discard.value => Some(RuleAction::Discard),
            (None, _) => {
                let message = "a rule needs `send: [...]` or `discard: true`";
                let at = discard.map_or(rule.referenced, |discard| discard.referenced);
                self.error(at, message);
                None
            }
        }
    }

    fn otherwise(
        &mut self,
        otherwise: Option<&Spanned<OtherwiseRaw>>,
        references: &mut Vec<(String, Location)>,
    ) -> Otherwise {
        let hint = "write `otherwise: discard` or `otherwise: { send: [ITEM] }`";
        let Some(otherwise) = otherwise else {
            return Otherwise::Discard;
        };
        match &otherwise.value {
            OtherwiseRaw::Word(word) if word == "discard" => Otherwise::Discard,
            OtherwiseRaw::Word(word) => {
                self.hinted(
                    otherwise.referenced,
                    format!("unknown `otherwise: {word}`"),
                    hint,
                );
                Otherwise::Discard
            }
            OtherwiseRaw::Send(Some(send)) => Otherwise::Send(self.names(send, "send", references)),
            OtherwiseRaw::Send(None) => {
                self.hinted(otherwise.referenced, "`otherwise` needs `send:`", hint);
                Otherwise::Discard
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::diagnostic::Source;
    use crate::document::Document;
    use crate::interpolation::Variables;
    use crate::positioned::Positioned;

    /// Reads every item both ways, shortened and from the whole file; the results (values,
    /// positions, errors) must be the same. Returns how many items were read shortened.
    fn read_both_ways(text: &str) -> usize {
        let source = std::sync::Arc::new(Source::new("t.yaml", text));
        let Ok(outline) = Outline::parse(&source) else {
            return 0;
        };
        let Some(root) = outline.root().filter(|root| root.entries().is_some()) else {
            return 0;
        };
        let Some(items) = outline
            .get(root, "items")
            .filter(|items| items.elements().is_some())
        else {
            return 0;
        };
        let document = Document::new(source.clone(), Variables::default());
        let ranges = ranges(text, &outline, root, items);
        let shortened = ranges.iter().filter(|range| range.is_some()).count();
        for (index, alone) in ranges.into_iter().enumerate() {
            let read = |alone| {
                let item = ItemText { index, alone };
                document
                    .read_item::<Positioned>(item, &[])
                    .map_err(|error| document.describe(&error))
            };
            assert_eq!(read(alone), read(None), "item {index} of {text:?}");
        }
        shortened
    }

    const LAYOUTS: &str = "production: p # a comment
items:
- name: A
  service: file
  # between keys
  targets: [B]
  settings: { path: './in', when: 'x''y' }

-   name: B
    operation: file
    settings:
      note: |
        line one
          line two
      other: >-
        folded
        text
- just text
- name: C
  pool: 04
  enabled: yes
-
  name: D
  operation: {x: [1, 2, {y: z}]}
- {name: E, operation: file}
# trailing comment
store: {}
";

    #[test]
    fn a_shortened_item_reads_like_the_whole_file() {
        assert_eq!(read_both_ways(LAYOUTS), 5);
        assert_eq!(read_both_ways(&LAYOUTS.replace('\n', "\r\n")), 5);
        let indented: String = LAYOUTS.lines().map(|line| format!("  {line}\n")).collect();
        assert_eq!(read_both_ways(&indented), 5);
        assert_eq!(
            read_both_ways("production: p\nitems:\n  - &a {name: A}\n  - *a\n"),
            1
        );
        assert_eq!(read_both_ways("{production: p, items: [{name: A}]}"), 0);
        assert_eq!(read_both_ways("production: p\ritems:\r- name: A\r"), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn shortened_reads_survive_edits(
            deleted in prop::collection::vec(0..30usize, 0..4),
            indented in prop::collection::vec(0..30usize, 0..3),
            replaced in prop::collection::vec((0..LAYOUTS.len(), 0..14usize), 0..3),
        ) {
            let text = crate::mutation::mutated(LAYOUTS, &deleted, &indented, &replaced);
            read_both_ways(&text);
        }
    }
}
