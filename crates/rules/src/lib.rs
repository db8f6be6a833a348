//! Ferry's routing-condition language.
//!
//! A router rule says `when: 'MSH-9.1 = "ADT" and MSH-9.2 in ("A01", "A04")'`. This crate
//! compiles such a condition once, when the production loads, and evaluates it per message
//! against a [`Document`], the runtime's view of one message. The language is documented
//! for production authors in `docs/rules.md`.
//!
//! - [`compile`] turns text into a [`Condition`], or a [`RuleError`] pointing at the
//!   offending token; [`always`] is the condition of a rule without `when:`.
//! - [`Condition::matches`] evaluates: no parsing, no allocation of its own.
//! - [`Condition::hl7_paths`] lists the fields a condition reads.
//! - [`XmlPath`] and [`JsonPointer`] are the compiled `xml:/…` and `json:/…` operands; a
//!   [`Document`] reads them from its body with [`XmlPath::read`] (over the text
//!   [`xml_text`] decodes once per message) and [`JsonPointer::read`] (over the value
//!   serde_json parses once per message).
//!
//! ```
//! use std::borrow::Cow;
//!
//! use ferry_hl7::{FieldPath, FieldValue};
//! use ferry_rules::{Document, Property, compile};
//!
//! struct Admission;
//!
//! impl Document for Admission {
//!     fn hl7(&self, path: &FieldPath) -> FieldValue<'_> {
//!         match path.to_string().as_str() {
//!             "MSH-9.1" => FieldValue::Text(Cow::Borrowed("ADT")),
//!             "MSH-9.2" => FieldValue::Text(Cow::Borrowed("A04")),
//!             _ => FieldValue::Missing,
//!         }
//!     }
//!
//!     fn property(&self, property: Property) -> FieldValue<'_> {
//!         match property {
//!             Property::Duplicate => FieldValue::Text(Cow::Borrowed("false")),
//!             _ => FieldValue::Missing,
//!         }
//!     }
//! }
//!
//! let rule = compile(r#"MSH-9.1 = "ADT" and MSH-9.2 in ("A01", "A04") and not msg.duplicate"#)?;
//! assert!(rule.matches(&Admission));
//!
//! let error = compile(r#"MSH-9.1 == "ADT""#).unwrap_err();
//! assert_eq!((error.offset, error.len), (8, 2));
//! assert_eq!(error.to_string(), "'==' is not an operator; hint: use a single = to compare");
//! # Ok::<(), ferry_rules::RuleError>(())
//! ```
//!
//! Modules, in reading order: `lexer` (text to tokens), `parser` (tokens to a tree),
//! `check` (tests that cannot mean anything are refused), `operand` (where values come
//! from), `xml_path` and `json_pointer` (the paths into XML and JSON bodies), `value` and
//! `number` (how values compare), `expr` (evaluation and the canonical form), `condition`
//! (the public face).

mod check;
mod condition;
mod error;
mod expr;
mod json_pointer;
mod lexer;
mod number;
mod operand;
mod parser;
mod value;
mod xml_path;

pub use condition::{Condition, Document, always, compile};
pub use error::RuleError;
pub use json_pointer::JsonPointer;
pub use operand::Property;
pub use xml_path::{XmlPath, XmlTextError, xml_text};
