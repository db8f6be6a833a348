//! The examples in docs/rules.md compile (or, in the error table, fail) as the page says.

use ferry_rules::compile;

fn page() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/rules.md");
    std::fs::read_to_string(path).expect("docs/rules.md is readable")
}

/// The section of the page under `## {title}`, up to the next section.
fn section(page: &str, title: &str) -> String {
    let heading = format!("\n## {title}\n");
    let start = page.find(&heading).expect("the section exists") + heading.len();
    let end = page[start..]
        .find("\n## ")
        .map_or(page.len(), |at| start + at);
    page[start..end].to_owned()
}

/// The backticked text of column `column` in each row of the section's tables.
fn column(section: &str, column: usize) -> Vec<String> {
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let cell = cells.get(column)?.trim_start_matches("| ").trim();
            let code = cell.strip_prefix('`')?.split('`').next()?;
            Some(code.replace("\\|", "|"))
        })
        .collect()
}

#[test]
fn every_when_in_the_page_compiles() {
    let page = page();
    let whens: Vec<&str> = page
        .lines()
        .filter_map(|line| line.trim().strip_prefix("- when: '")?.strip_suffix('\''))
        .chain(
            page.lines()
                .filter_map(|line| line.trim().strip_prefix("when: '")?.strip_suffix('\'')),
        )
        .collect();
    assert!(whens.len() >= 4, "{whens:?}");
    for when in whens {
        compile(when).unwrap_or_else(|error| panic!("{when:?}: {error}"));
    }
}

#[test]
fn the_examples_at_a_glance_compile() {
    let glance = section(&page(), "The language at a glance");
    let block = glance.split("```").nth(1).expect("a code block");
    let examples: Vec<&str> = block
        .lines()
        .skip(1)
        .filter(|line| !line.is_empty())
        .collect();
    assert_eq!(examples.len(), 5);
    for example in examples {
        compile(example).unwrap_or_else(|error| panic!("{example:?}: {error}"));
    }
}

#[test]
fn the_operator_and_property_examples_compile() {
    let page = page();
    let operators = column(&section(&page, "Operators"), 2);
    let properties = column(&section(&page, "Properties"), 2);
    assert!(operators.len() >= 16, "{operators:?}");
    assert_eq!(properties.len(), 4);
    for example in operators.iter().chain(&properties) {
        compile(example).unwrap_or_else(|error| panic!("{example:?}: {error}"));
    }
}

#[test]
fn the_error_examples_fail_with_the_documented_message() {
    let errors = section(&page(), "Errors");
    let written = column(&errors, 0);
    let said = column(&errors, 1);
    assert_eq!(written.len(), said.len());
    assert!(written.len() >= 12, "{written:?}");
    for (source, message) in written.iter().zip(&said) {
        let error = compile(source).expect_err(source);
        assert!(
            error.message.starts_with(message.as_str()),
            "{source:?}: {error}"
        );
    }
}
