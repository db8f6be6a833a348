//! The router process: an ordered rule set deciding where each message goes.
//!
//! Rules are compiled once when the production loads; per message the body is decoded
//! and parsed once, and every rule reads fields from that one parse: an HL7 v2 body is
//! parsed before the rules run, an XML body is decoded to text the first time a rule reads
//! an XML path (each path then scans that text), and a JSON body is parsed the first time
//! a rule reads a JSON pointer. Rules are tried in
//! order; the first that matches decides, unless it says `continue`, in which case its
//! targets are kept and the next rules are tried too. A matching `discard` rule ends the
//! evaluation. A message no rule sent anywhere follows `otherwise`.

use std::borrow::Cow;
use std::cell::OnceCell;

use ferry_hl7::{FieldPath, FieldValue, Hl7Message};
use ferry_message::{Body, ContentKind, Header, ItemName};
use ferry_production::{Otherwise, RouterSpec, RuleAction};
use ferry_rules::{Document, JsonPointer, Property, XmlPath};

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
            body,
            hl7: parsed.as_ref(),
            xml: OnceCell::new(),
            json: OnceCell::new(),
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
///
/// The XML text and the JSON value are made on first use and kept for the rest of the
/// rules; `None` inside means the body is not of that kind or does not decode or parse
/// (intake already stored such a body with status Error), and every path reads missing.
struct Message<'a> {
    header: &'a Header,
    body: &'a Body,
    hl7: Option<&'a Hl7Message<'a>>,
    xml: OnceCell<Option<Cow<'a, str>>>,
    json: OnceCell<Option<serde_json::Value>>,
}

impl Document for Message<'_> {
    fn hl7(&self, path: &FieldPath) -> FieldValue<'_> {
        match self.hl7 {
            Some(message) => message.get(path),
            None => FieldValue::Missing,
        }
    }

    fn xml(&self, path: &XmlPath) -> FieldValue<'_> {
        let text = self.xml.get_or_init(|| match self.body.kind {
            ContentKind::Xml => ferry_rules::xml_text(&self.body.bytes).ok(),
            _ => None,
        });
        match text {
            Some(text) => path.read(text),
            None => FieldValue::Missing,
        }
    }

    fn json(&self, pointer: &JsonPointer) -> FieldValue<'_> {
        let value = self.json.get_or_init(|| match self.body.kind {
            ContentKind::Json => {
                serde_json::from_slice(crate::metadata::without_bom(&self.body.bytes)).ok()
            }
            _ => None,
        });
        match value {
            Some(value) => pointer.read(value),
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
            Property::Kind => Cow::Borrowed(self.body.kind.as_str()),
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
        route_body(rules, otherwise, ContentKind::Hl7v2, message)
    }

    fn route_body(
        rules: Vec<RuleSpec>,
        otherwise: Otherwise,
        kind: ContentKind,
        message: &str,
    ) -> Route {
        Router::new(RouterSpec { rules, otherwise }).route(&header(), &body(kind, message))
    }

    fn header() -> Header {
        let now = jiff::Timestamp::UNIX_EPOCH;
        Header {
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
        }
    }

    fn body(kind: ContentKind, message: &str) -> Body {
        Body {
            id: BodyId(1),
            kind,
            charset: None,
            bytes: Bytes::from(message.to_owned()),
        }
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

    const CDA: &str = r#"<?xml version="1.0"?>
<cda:ClinicalDocument xmlns:cda="urn:hl7-org:v3">
  <cda:code code="18842-5"/>
  <cda:recordTarget><cda:patientRole>
    <cda:id root="2.16.756.5.32" extension="7560000000001"/>
  </cda:patientRole></cda:recordTarget>
</cda:ClinicalDocument>"#;

    const CONTACT: &str = r#"{"@odata.etag": "W/\"77\"", "firstname": "Nora",
        "numberofchildren": 2, "emailaddress1": null, "donotemail": false}"#;

    #[test]
    fn rules_read_xml_paths_and_json_pointers_from_their_kind_of_body() {
        let rules = || {
            vec![
                rule(
                    r#"xml:/ClinicalDocument/recordTarget/patientRole/id/@root = "2.16.756.5.32""#,
                    send(&["Xml"]),
                    true,
                ),
                rule(
                    "json:/numberofchildren > 1 and json:/emailaddress1 is null \
                     and json:/donotemail = false",
                    send(&["Json"]),
                    false,
                ),
            ]
        };
        let to_other = || Otherwise::Send(vec!["Other".into()]);

        let cases = [
            (ContentKind::Xml, CDA, "Xml"),
            (ContentKind::Json, CONTACT, "Json"),
            (ContentKind::Text, CDA, "Other"),
            (ContentKind::Text, CONTACT, "Other"),
            (ContentKind::Xml, CONTACT, "Other"),
            (ContentKind::Json, CDA, "Other"),
            (ContentKind::Xml, "<cda:ClinicalDocument", "Other"),
        ];
        for (kind, body, target) in cases {
            assert_eq!(
                route_body(rules(), to_other(), kind, body),
                Route::Send(vec![target.into()]),
                "{kind:?} {body}"
            );
        }
    }

    #[test]
    fn a_body_is_parsed_when_a_rule_first_reads_it_and_kept() {
        let (header, json, xml) = (
            header(),
            body(ContentKind::Json, CONTACT),
            body(ContentKind::Xml, CDA),
        );
        let message = |body| Message {
            header: &header,
            body,
            hl7: None,
            xml: OnceCell::new(),
            json: OnceCell::new(),
        };
        let holds = |condition: &str, message: &Message<'_>| {
            ferry_rules::compile(condition).unwrap().matches(message)
        };

        let contact = message(&json);
        assert!(holds(
            "msg.source = \"In\" and xml:/a exists or true",
            &contact
        ));
        assert!(contact.json.get().is_none(), "no JSON pointer read yet");
        assert_eq!(contact.xml.get(), Some(&None), "not an XML body");
        assert!(holds(r#"json:/firstname = "Nora""#, &contact));
        let parsed: *const serde_json::Value = contact.json.get().unwrap().as_ref().unwrap();
        assert!(holds("json:/numberofchildren = 2", &contact));
        let again: *const serde_json::Value = contact.json.get().unwrap().as_ref().unwrap();
        assert_eq!(parsed, again, "the same parse serves every rule");

        let cda = message(&xml);
        assert!(holds(
            r#"xml:/ClinicalDocument/code/@code = "18842-5""#,
            &cda
        ));
        assert!(
            matches!(cda.xml.get(), Some(Some(Cow::Borrowed(_)))),
            "UTF-8 is not copied"
        );
        assert!(cda.json.get().is_none());
    }
}
