//! `${NAME}` and `${NAME:-default}`: values taken from the environment.
//!
//! serde-saphyr performs the substitution (its `properties` feature, Docker Compose
//! syntax) on each scalar after parsing, so a value holding `: `, `#` or a newline stays
//! one string and can never add YAML structure. Every scalar style is interpolated, so
//! `{ path: "${DIR}" }` works in a flow mapping, where a plain `${` cannot be written;
//! `$$` is a literal `$`. Keys are never interpolated.
//!
//! This module owns the two halves around that: [`Variables`] looks up every name the file
//! mentions, once, and hands serde-saphyr a map in which unset names are empty (so that no
//! read of the document stops at them); [`Variables::check`] then reports, at its own
//! position, every unset `${NAME}` without a default, every malformed reference, every
//! Compose form Ferry does not offer (`${NAME-x}`, `${NAME:?x}`, …) and every bare
//! `$NAME` (which Compose would replace silently). So nothing is replaced by surprise, and
//! every problem is reported, not only the first.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::diagnostic::{Diagnostic, Diagnostics, Location, Source};
use crate::outline::Outline;
use crate::position;

/// The environment as seen by one production file: every variable it names.
#[derive(Clone, Default)]
pub(crate) struct Variables {
    values: HashMap<String, Option<String>>,
}

impl fmt::Debug for Variables {
    /// Names only: values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Variables {
    /// Looks up every `${NAME` in the text (comments and quoted text included: a look-up
    /// too many costs nothing).
    pub(crate) fn lookup(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Variables {
        let mut values = HashMap::new();
        for (start, _) in text.match_indices("${") {
            let name = name_at(&text[start + 2..]);
            if !name.is_empty() && !values.contains_key(name) {
                values.insert(name.to_owned(), env(name));
            }
        }
        Variables { values }
    }

    /// The map serde-saphyr substitutes from: unset names are empty, so `${NAME:-default}`
    /// takes its default and `${NAME}` becomes empty (reported by [`Variables::check`]).
    pub(crate) fn properties(&self) -> HashMap<String, String> {
        self.values
            .iter()
            .map(|(name, value)| (name.clone(), value.clone().unwrap_or_default()))
            .collect()
    }

    /// Reports the first unusable reference of every scalar value, and returns where
    /// those scalars start: a later check that trips over such a value (an empty kind, a
    /// duration that is not one) would only repeat the problem, so the loader drops it.
    pub(crate) fn check(
        &self,
        outline: &Outline,
        source: &Source,
    ) -> (Diagnostics, HashSet<Location>) {
        let mut diagnostics = Diagnostics::new();
        let mut unusable = HashSet::new();
        for (node, scalar) in outline.value_scalars() {
            if !scalar.value.contains('$') {
                continue;
            }
            if let Some((offset, problem)) = self.first_problem(&scalar.value, 0) {
                let at = position::inside(source, node.at, node.offset, &scalar.value, offset);
                diagnostics.push(problem.diagnostic(source, at));
                unusable.insert(node.at);
            }
        }
        (diagnostics, unusable)
    }

    /// The first problem in `text`, scanning the way serde-saphyr substitutes. `base` is
    /// the offset of `text` in the scalar.
    fn first_problem(&self, text: &str, base: usize) -> Option<(usize, Problem)> {
        let bytes = text.as_bytes();
        let mut at = 0;
        while at + 1 < bytes.len() {
            if bytes[at] != b'$' {
                at += 1;
                continue;
            }
            match bytes[at + 1] {
                b'$' => at += 2,
                b'{' => match self.reference(text, at, base) {
                    Step::Next(after) => at = after,
                    Step::Stop(problem) => return Some((base + at, problem)),
                    Step::Nested(found) => return Some(found),
                },
                _ => match name_at(&text[at + 1..]) {
                    "" => at += 1,
                    name => return Some((base + at, Problem::Bare(name.to_owned()))),
                },
            }
        }
        None
    }

    /// Checks the reference starting at `text[start..]` (which begins with `${`).
    fn reference(&self, text: &str, start: usize, base: usize) -> Step {
        let name = name_at(&text[start + 2..]);
        let after_name = start + 2 + name.len();
        let rest = &text[after_name..];
        let value = self.values.get(name).cloned().flatten();
        let candidate = || candidate(text, start);

        if name.is_empty() {
            return Step::Stop(Problem::Malformed(candidate()));
        }
        if rest.starts_with('}') {
            return match value {
                Some(_) => Step::Next(after_name + 1),
                None => Step::Stop(Problem::Unset(name.to_owned())),
            };
        }
        if !rest.starts_with(":-") {
            let known = [":+", ":?", "-", "+", "?"]
                .iter()
                .any(|op| rest.starts_with(op));
            let problem = if known {
                Problem::Unsupported
            } else {
                Problem::Malformed
            };
            return Step::Stop(problem(candidate()));
        }

        let default_start = after_name + 2;
        let Some(close) = default_end(text, default_start) else {
            return Step::Stop(Problem::Malformed(candidate()));
        };
        if value.is_some_and(|value| !value.is_empty()) {
            return Step::Next(close + 1);
        }
        match self.first_problem(&text[default_start..close], base + default_start) {
            Some(found) => Step::Nested(found),
            None => Step::Next(close + 1),
        }
    }
}

/// What to do after one reference.
enum Step {
    Next(usize),
    Stop(Problem),
    Nested((usize, Problem)),
}

/// Why a reference cannot be used.
enum Problem {
    Unset(String),
    Malformed(String),
    Unsupported(String),
    Bare(String),
}

impl Problem {
    fn diagnostic(self, source: &Source, at: Location) -> Diagnostic {
        let (message, hint) = match self {
            Problem::Unset(name) => (
                format!("environment variable `{name}` is not set"),
                format!("set it, or give a default: ${{{name}:-value}}"),
            ),
            Problem::Malformed(text) => {
                (format!("bad variable reference `{text}`"), FORMS.to_owned())
            }
            Problem::Unsupported(text) => (
                format!("unsupported variable reference `{text}`"),
                FORMS.to_owned(),
            ),
            Problem::Bare(name) => (
                format!("`${name}` would be replaced by a variable"),
                format!("write ${{{name}}} for the variable, or $${name} for a literal `$`"),
            ),
        };
        Diagnostic::new(&source.name, at, message).with_hint(hint)
    }
}

const FORMS: &str = "write ${NAME} or ${NAME:-default}; a name is letters, digits and `_`, \
                     not starting with a digit";

/// The reference starting at `start` as written, for messages: up to its closing `}`, or
/// to the end of the line.
fn candidate(text: &str, start: usize) -> String {
    let line = text[start..].split('\n').next().unwrap_or_default();
    let end = line.find('}').map_or(line.len(), |close| close + 1);
    line[..end].to_owned()
}

/// The `}` closing a default that starts at `from`, as Docker Compose finds it: braces
/// inside balance, the reference ends with its line, and an unbalanced default ends at the
/// line's last `}`.
fn default_end(text: &str, from: usize) -> Option<usize> {
    let line_end = text[from..]
        .find('\n')
        .map_or(text.len(), |newline| from + newline);
    let mut depth = 1usize;
    for (index, byte) in text[from..line_end].bytes().enumerate() {
        match byte {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(from + index);
                }
            }
            _ => {}
        }
    }
    text[from..line_end].rfind('}').map(|close| from + close)
}

/// The variable name at the start of `text`: a letter or `_`, then letters, digits, `_`.
fn name_at(text: &str) -> &str {
    let starts_well = text
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if !starts_well {
        return "";
    }
    let end = text
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or(text.len());
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, env: &[(&str, &str)]) -> Vec<String> {
        let source = Source::new("t.yaml", text);
        let lookup = |name: &str| {
            env.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        };
        let variables = Variables::lookup(text, &lookup);
        let outline = Outline::parse(&source).unwrap();
        let (diagnostics, _) = variables.check(&outline, &source);
        diagnostics.sorted().iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn an_unset_name_is_reported_at_its_reference() {
        let found = check("a: x-${HOST}-y\n", &[]);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("t.yaml:1:6: environment variable `HOST` is not set"));
    }

    #[test]
    fn defaults_and_set_names_are_fine() {
        let text = "a: ${A:-x}\nb: ${B}\nc: '${B}-${A:-{y}}'\nd: pa$${E} $1 a$\n";
        assert!(check(text, &[("B", "1")]).is_empty());
    }

    #[test]
    fn an_empty_default_value_is_checked_inside() {
        let found = check("a: ${A:-${B}}\n", &[("A", "")]);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("t.yaml:1:9: environment variable `B`"));
    }

    #[test]
    fn malformed_and_unsupported_forms_are_named() {
        let found = check("a: ${1x}\nb: ${A?no}\n", &[]);
        assert!(found[0].starts_with("t.yaml:1:4: bad variable reference `${1x}`"));
        assert!(found[1].starts_with("t.yaml:2:4: unsupported variable reference `${A?no}`"));
    }

    #[test]
    fn quoted_references_are_checked_at_their_column() {
        let found = check("a: { b: 'x${C}', c: \"${D:-}\" }\n", &[]);
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("t.yaml:1:11: environment variable `C` is not set"));
    }

    #[test]
    fn a_bare_dollar_name_is_refused() {
        let found = check("a: pa$word\n", &[]);
        assert_eq!(
            found,
            ["t.yaml:1:6: `$word` would be replaced by a variable\n  \
              hint: write ${word} for the variable, or $$word for a literal `$`"]
        );
    }

    #[test]
    fn keys_are_not_interpolated() {
        assert!(check("${K}: 1\n", &[]).is_empty());
    }

    #[test]
    fn unset_names_become_empty_properties() {
        let env = |name: &str| (name == "SET").then(|| "v".to_owned());
        let properties = Variables::lookup("${SET} ${UNSET:-d} ${9}", &env).properties();
        assert_eq!(properties.len(), 2);
        assert_eq!(properties["SET"], "v");
        assert_eq!(properties["UNSET"], "");
    }
}
