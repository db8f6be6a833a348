//! The router process: an ordered rule set deciding where each message goes.
//!
//! Rules are compiled once when the production loads; per message the body is decoded
//! and parsed once, and every rule reads fields from that one parse. Rules are tried in
//! order; the first that matches decides, unless it says `continue`, in which case its
//! targets are kept and the next rules are tried too. A matching `discard` rule ends the
//! evaluation. A message no rule sent anywhere follows `otherwise`.

use std::borrow::Cow;

use ferry_hl7::{FieldPath, FieldValue, Hl7Message};
use ferry_message::{Body, ContentKind, Header, ItemName};
use ferry_production::{Otherwise, RouterSpec, RuleAction};
use ferry_rules::{Document, Property};

use crate::metadata::body_text;

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// To these targets, in rule order, each once.
    Send(Vec<ItemName>),
    /// Nowhere, for this reason.
    Discard(String),
}

/// A compiled rule set.
pub(crate) struct Router {
    spec: RouterSpec,
}

impl Router {
    pub(crate) fn new(spec: RouterSpec) -> Self {
        Router { spec }
    }

    /// Decides where the message with `header` and `body` goes.
    pub(crate) fn route(&self, header: &Header, body: &Body) -> Route {
        let text = match body.kind {
            ContentKind::Hl7v2 => Some(body_text(&body.bytes, body.charset.as_deref())),
            _ => None,
        };
        let parsed = text
            .as_deref()
            .and_then(|text| Hl7Message::parse(text).ok());
        let document = Message {
            header,
            kind: body.kind,
            hl7: parsed.as_ref(),
        };

        let mut targets: Vec<ItemName> = Vec::new();
        for (index, rule) in self.spec.rules.iter().enumerate() {
            if !rule.condition.matches(&document) {
                continue;
            }
            match &rule.action {
                RuleAction::Send(to) => add_targets(&mut targets, to),
                RuleAction::Discard => {
                    if targets.is_empty() {
                        return Route::Discard(format!("discarded by {}", rule_label(rule, index)));
                    }
                    return Route::Send(targets);
                }
            }
            if !rule.continue_after {
                return Route::Send(targets);
            }
        }

        if !targets.is_empty() {
            return Route::Send(targets);
        }
        match &self.spec.otherwise {
            Otherwise::Send(to) => Route::Send(to.clone()),
            Otherwise::Discard => Route::Discard("no rule matched (otherwise: discard)".to_owned()),
        }
    }
}

fn add_targets(targets: &mut Vec<ItemName>, more: &[ItemName]) {
    for target in more {
        if !targets.contains(target) {
            targets.push(target.clone());
        }
    }
}

fn rule_label(rule: &ferry_production::RuleSpec, index: usize) -> String {
    match &rule.name {
        Some(name) => format!("rule '{name}'"),
        None => format!("rule {}", index + 1),
    }
}

/// A message as the rule language sees it.
struct Message<'a> {
    header: &'a Header,
    kind: ContentKind,
    hl7: Option<&'a Hl7Message<'a>>,
}

impl Document for Message<'_> {
    fn hl7(&self, path: &FieldPath) -> FieldValue<'_> {
        match self.hl7 {
            Some(message) => message.get(path),
            None => FieldValue::Missing,
        }
    }

    fn property(&self, property: Property) -> FieldValue<'_> {
        let text = match property {
            Property::Source => Cow::Borrowed(self.header.source.as_str()),
            Property::DocType => match &self.header.doc_type {
                Some(doc_type) => Cow::Borrowed(doc_type.as_str()),
                None => return FieldValue::Missing,
            },
            Property::Kind => Cow::Borrowed(self.kind.as_str()),
            Property::Duplicate => Cow::Borrowed(if self.header.possible_duplicate {
                "true"
            } else {
                "false"
            }),
        };
        FieldValue::Text(text)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use ferry_message::{BodyId, MessageId, SessionId, Status};
    use ferry_production::RuleSpec;

    use super::*;

    fn rule(when: &str, action: RuleAction, continue_after: bool) -> RuleSpec {
        RuleSpec {
            name: None,
            condition: ferry_rules::compile(when).unwrap(),
            action,
            continue_after,
        }
    }

    fn send(targets: &[&str]) -> RuleAction {
        RuleAction::Send(targets.iter().map(|t| ItemName::new(*t)).collect())
    }

    fn route(rules: Vec<RuleSpec>, otherwise: Otherwise, message: &str) -> Route {
        let now = jiff::Timestamp::UNIX_EPOCH;
        let header = Header {
            id: MessageId(1),
            session: SessionId(1),
            parent: None,
            resend_of: None,
            source: "In".into(),
            target: "Router".into(),
            created: now,
            updated: now,
            status: Status::Delivered,
            doc_type: None,
            body: BodyId(1),
            possible_duplicate: false,
            attempts: 0,
            reason: None,
            response: None,
        };
        let body = Body {
            id: BodyId(1),
            kind: ContentKind::Hl7v2,
            charset: None,
            bytes: Bytes::from(message.to_owned()),
        };
        Router::new(RouterSpec { rules, otherwise }).route(&header, &body)
    }

    const ADT: &str = "MSH|^~\\&|A|B|C|D|20240101||ADT^A01|X1|P|2.5.1\rPID|1||P1\r";

    #[test]
    fn the_first_matching_rule_decides() {
        let rules = vec![
            rule("MSH-9.1 = \"ADT\"", send(&["A"]), false),
            rule("MSH-9.2 = \"A01\"", send(&["B"]), false),
        ];
        assert_eq!(
            route(rules, Otherwise::Discard, ADT),
            Route::Send(vec!["A".into()])
        );
    }

    #[test]
    fn continue_collects_targets_once_each() {
        let rules = vec![
            rule("MSH-9.1 = \"ADT\"", send(&["A", "B"]), true),
            rule("PID-3 exists", send(&["B", "C"]), false),
        ];
        let expected = Route::Send(vec!["A".into(), "B".into(), "C".into()]);
        assert_eq!(route(rules, Otherwise::Discard, ADT), expected);
    }

    #[test]
    fn a_discard_rule_ends_evaluation_and_keeps_earlier_targets() {
        let discard_first = vec![
            rule("MSH-9.1 = \"ADT\"", RuleAction::Discard, false),
            rule("PID-3 exists", send(&["B"]), false),
        ];
        let Route::Discard(reason) = route(discard_first, Otherwise::Discard, ADT) else {
            panic!("expected a discard");
        };
        assert_eq!(reason, "discarded by rule 1");

        let continued = vec![
            rule("MSH-9.1 = \"ADT\"", send(&["A"]), true),
            rule("PID-3 exists", RuleAction::Discard, false),
        ];
        assert_eq!(
            route(continued, Otherwise::Discard, ADT),
            Route::Send(vec!["A".into()])
        );
    }

    #[test]
    fn otherwise_applies_when_nothing_matched() {
        let rules = vec![rule("MSH-9.1 = \"ORU\"", send(&["A"]), false)];
        let to_other = Otherwise::Send(vec!["Other".into()]);
        assert_eq!(
            route(rules.clone(), to_other, ADT),
            Route::Send(vec!["Other".into()])
        );
        assert!(matches!(
            route(rules, Otherwise::Discard, ADT),
            Route::Discard(_)
        ));
    }

    #[test]
    fn rules_read_message_properties() {
        let rules = vec![rule(
            "msg.source = \"In\" and not msg.duplicate",
            send(&["A"]),
            false,
        )];
        assert_eq!(
            route(rules, Otherwise::Discard, ADT),
            Route::Send(vec!["A".into()])
        );
    }
}
