//! Properties that hold for any text: compiling never panics and errors stay inside the
//! text; generated well-formed conditions compile, evaluate, and re-compile from their
//! printed form to an equal condition.

use ferry_rules::{Property, compile};
use proptest::prelude::*;
use proptest::sample::select;

use crate::support::TestDoc;

const PATHS: [&str; 8] = [
    "MSH-9.1",
    "MSH-9.2",
    "PID-3[2].1",
    "ZPI-2[1].1",
    "OBX[2]-5",
    "PID-7",
    "PID-9",
    "OBX-5.1.2",
];

const TEXT_PROPERTIES: [&str; 3] = ["msg.source", "msg.doctype", "msg.kind"];

/// Pieces of the language, right and wrong, for texts that get past the lexer more often
/// than arbitrary strings do.
const TOKENS: [&str; 34] = [
    "MSH-9.1",
    "PID-3[2].1",
    "PID.3",
    "pid-3",
    "msg.kind",
    "msg.duplicate",
    "msg.x",
    "\"ADT\"",
    "\"",
    "'",
    "\\",
    "\"\"",
    "42",
    "-7.5",
    "1.2.3",
    "(",
    ")",
    ",",
    "=",
    "==",
    "!=",
    "<",
    ">=",
    "and",
    "OR",
    "not",
    "in",
    "exists",
    "is",
    "null",
    "empty",
    "starts",
    "with",
    "xml:/a",
];

fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn path() -> impl Strategy<Value = String> {
    select(&PATHS[..]).prop_map(str::to_owned)
}

fn text_property() -> impl Strategy<Value = String> {
    select(&TEXT_PROPERTIES[..]).prop_map(str::to_owned)
}

fn text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 ^~&|'\"\\\\üé]{1,6}".prop_map(|text| quoted(&text))
}

fn number() -> impl Strategy<Value = String> {
    "-?[0-9]{1,5}(\\.[0-9]{1,3})?"
}

fn list(item: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(item, 1..4)).prop_map(|(negated, items)| {
        let not = if negated { "not " } else { "" };
        format!("{not}in ({})", items.join(", "))
    })
}

fn comparison() -> impl Strategy<Value = String> {
    let op = select(&["=", "!=", "<", "<=", ">", ">="][..]);
    let field_side = prop_oneof![text(), number(), path(), text_property()];
    let property_side = prop_oneof![text(), path(), text_property()];
    prop_oneof![
        (path(), op.clone(), field_side).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (text_property(), op.clone(), property_side).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (prop_oneof![text(), number()], op, path()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
    ]
}

fn test() -> impl Strategy<Value = String> {
    let field_list = list(prop_oneof![text(), number()].boxed());
    let property_list = list(text().boxed());
    let subject = prop_oneof![path(), text_property()];
    let presence = select(
        &[
            "exists",
            "is null",
            "is not null",
            "is empty",
            "is not empty",
        ][..],
    );
    let text_op = select(&["contains", "starts with"][..]);
    let needle = prop_oneof![text(), path(), text_property()];
    let flag = select(
        &[
            "msg.duplicate",
            "msg.duplicate = true",
            "false != msg.duplicate",
        ][..],
    );
    prop_oneof![
        4 => comparison(),
        1 => (path(), field_list).prop_map(|(a, list)| format!("{a} {list}")),
        1 => (text_property(), property_list).prop_map(|(a, list)| format!("{a} {list}")),
        1 => (subject.clone(), presence).prop_map(|(a, test)| format!("{a} {test}")),
        1 => (subject, text_op, needle).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        1 => flag.prop_map(str::to_owned),
        1 => select(&["true", "false"][..]).prop_map(str::to_owned),
    ]
}

fn condition() -> impl Strategy<Value = String> {
    let tree = test().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| format!("not {c}")),
            inner.clone().prop_map(|c| format!("({c})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("{a} or {b}")),
        ]
    });
    (tree, any::<bool>()).prop_map(|(source, shout)| {
        if shout {
            source.to_ascii_uppercase()
        } else {
            source
        }
    })
}

fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("\"\"".to_owned()),
        "[A-Z0-9^]{1,4}",
        "-?[0-9]{1,3}(\\.[0-9]{1,2})?",
        "[a-zü\"\\\\ ]{1,4}",
    ]
}

fn document() -> impl Strategy<Value = TestDoc> {
    let fields = prop::collection::vec(field_value(), PATHS.len());
    let properties = prop::collection::vec(field_value(), TEXT_PROPERTIES.len());
    (fields, properties, any::<bool>()).prop_map(|(fields, properties, duplicate)| {
        let mut doc = TestDoc::new().property(Property::Duplicate, &duplicate.to_string());
        for (path, value) in PATHS.iter().zip(&fields) {
            doc = doc.field(path, value);
        }
        for (name, value) in TEXT_PROPERTIES.iter().zip(&properties) {
            doc = doc.property(Property::from_name(name).expect("a property"), value);
        }
        doc
    })
}

/// Compiles anything; an error must lie inside the text, on character boundaries.
fn compile_anything(source: &str) -> Result<(), TestCaseError> {
    match compile(source) {
        Ok(condition) => {
            condition.matches(&TestDoc::new());
            let reprinted = compile(&condition.to_string());
            prop_assert_eq!(reprinted, Ok(condition));
        }
        Err(error) => {
            let end = error.offset + error.len;
            prop_assert!(end <= source.len(), "{:?} outside {:?}", error, source);
            prop_assert!(source.is_char_boundary(error.offset), "{:?}", error);
            prop_assert!(source.is_char_boundary(end), "{:?}", error);
            prop_assert!(!error.message.is_empty());
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn compile_never_panics_on_any_string(source in any::<String>()) {
        compile_anything(&source)?;
    }

    #[test]
    fn compile_never_panics_on_token_soup(
        tokens in prop::collection::vec(select(&TOKENS[..]), 0..16),
        glue in select(&[" ", ""][..]),
    ) {
        compile_anything(&tokens.join(glue))?;
    }

    #[test]
    fn well_formed_conditions_compile_evaluate_and_reprint(
        source in condition(),
        doc in document(),
    ) {
        let condition = compile(&source)
            .map_err(|error| TestCaseError::fail(format!("{source:?}: {error}")))?;
        let verdict = condition.matches(&doc);

        let printed = condition.to_string();
        let reprinted = compile(&printed)
            .map_err(|error| TestCaseError::fail(format!("{printed:?}: {error}")))?;
        prop_assert_eq!(&reprinted, &condition, "printed as {}", printed);
        prop_assert_eq!(reprinted.matches(&doc), verdict);
        prop_assert_eq!(reprinted.to_string(), printed);

        for path in condition.hl7_paths() {
            prop_assert!(PATHS.contains(&path.to_string().as_str()), "{}", path);
        }
    }

    #[test]
    fn not_equal_is_the_negation_of_equal(
        path in path(),
        value in prop_oneof![text(), number(), path()],
        doc in document(),
    ) {
        let equal = compile(&format!("{path} = {value}")).unwrap().matches(&doc);
        let unequal = compile(&format!("{path} != {value}")).unwrap().matches(&doc);
        let negated = compile(&format!("not {path} = {value}")).unwrap().matches(&doc);
        prop_assert_eq!(unequal, !equal);
        prop_assert_eq!(negated, !equal);
    }

    #[test]
    fn ordering_is_consistent(
        path in path(),
        value in prop_oneof![text(), number(), path()],
        doc in document(),
    ) {
        let holds = |op: &str| compile(&format!("{path} {op} {value}")).unwrap().matches(&doc);
        prop_assert_eq!(holds("<="), holds("<") || holds("="));
        prop_assert_eq!(holds(">="), holds(">") || holds("="));
        prop_assert!(!(holds("<") && holds(">")));
    }
}
