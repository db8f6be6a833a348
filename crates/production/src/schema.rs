//! Unknown keys anywhere in the production's own sections, all of them at once.
//!
//! Owns the walk over the outline that compares every mapping the production defines
//! (top level, `store`, each item, its `retry`, `rules` and `otherwise`) against the key
//! lists in [`crate::raw`]. A misspelt key is reported with the closest known key; the
//! item it sits in is still read (the key is ignored), so its other problems show too.
//! `settings:` is the adapter's to check.

use crate::diagnostic::{Diagnostic, Diagnostics, Source};
use crate::outline::{Node, Outline};
use crate::raw::{
    ADMIN_KEYS, ADMIN_TLS_KEYS, ITEM_KEYS, OTHERWISE_KEYS, RETRY_KEYS, RULE_KEYS, STORE_KEYS,
    TOP_KEYS,
};
use crate::suggest;

/// Reports every key the production format does not know.
pub(crate) fn unknown_keys(outline: &Outline, root: &Node, source: &Source) -> Diagnostics {
    let mut walk = Walk {
        outline,
        source,
        found: Diagnostics::new(),
    };
    walk.mapping(root, TOP_KEYS, "at the top level");

    if let Some(store) = outline.get(root, "store") {
        walk.mapping(store, STORE_KEYS, "in `store`");
    }
    if let Some(admin) = outline.get(root, "admin") {
        walk.mapping(admin, ADMIN_KEYS, "in `admin`");
        if let Some(tls) = outline.get(admin, "tls") {
            walk.mapping(tls, ADMIN_TLS_KEYS, "in `admin.tls`");
        }
    }
    if let Some(items) = outline.get(root, "items") {
        for item in outline.elements(items) {
            walk.item(item);
        }
    }
    walk.found
}

struct Walk<'a> {
    outline: &'a Outline,
    source: &'a Source,
    found: Diagnostics,
}

impl Walk<'_> {
    fn item(&mut self, item: &Node) {
        let place = match self.outline.get(item, "name").and_then(Node::text) {
            Some(name) => format!("in item `{name}`"),
            None => "in an item".to_owned(),
        };
        self.mapping(item, ITEM_KEYS, &place);

        if let Some(retry) = self.outline.get(item, "retry") {
            self.mapping(retry, RETRY_KEYS, "in `retry`");
        }
        if let Some(rules) = self.outline.get(item, "rules") {
            for rule in self.outline.elements(rules) {
                self.mapping(rule, RULE_KEYS, "in a rule");
            }
        }
        if let Some(otherwise) = self.outline.get(item, "otherwise") {
            self.mapping(otherwise, OTHERWISE_KEYS, "in `otherwise`");
        }
    }

    /// Checks the keys of `node` if it is a mapping; other shapes are reported when the
    /// section is read.
    fn mapping(&mut self, node: &Node, known: &[&str], place: &str) {
        for (key, _) in self.outline.entries(node) {
            let Some(name) = key.text() else {
                let message = format!("expected a key name {place}");
                self.found
                    .push(Diagnostic::new(&self.source.name, key.at, message));
                continue;
            };
            if known.contains(&name) {
                continue;
            }
            let hint = if name == "<<" {
                "merge keys (<<) are a YAML 1.1 feature and not supported; write the keys out"
                    .to_owned()
            } else {
                suggest::hint(name, known.iter().copied())
            };
            let message = format!("unknown key `{name}` {place}");
            self.found
                .push(Diagnostic::new(&self.source.name, key.at, message).with_hint(hint));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_unknown_key_with_a_suggestion() {
        let text = "production: p\nstor: {}\nitems:\n  - name: A\n    polo: 1\n    \
                    retry: { intervall: 1s }\n";
        let source = Source::new("t.yaml", text);
        let outline = Outline::parse(&source).unwrap();
        let found = unknown_keys(&outline, outline.root().unwrap(), &source);
        let shown: Vec<String> = found.sorted().iter().map(|d| d.to_string()).collect();
        assert_eq!(
            shown,
            [
                "t.yaml:2:1: unknown key `stor` at the top level\n  hint: did you mean `store`?",
                "t.yaml:5:5: unknown key `polo` in item `A`\n  hint: did you mean `pool`?",
                "t.yaml:6:14: unknown key `intervall` in `retry`\n  \
                 hint: did you mean `interval`?",
            ]
        );
    }
}
