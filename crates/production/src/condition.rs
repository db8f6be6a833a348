//! Compiling a rule's `when:` with ferry-rules, errors placed in the YAML file.
//!
//! Owns the one call into the rule language. A compile error's offset inside the
//! expression becomes a line and column of the production file, so the author is pointed
//! at the offending token, not at the start of the line.

use ferry_rules::Condition;
use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostic, Source};
use crate::position;

/// Compiles a `when:` expression; absent, a rule always applies.
///
/// # Errors
///
/// The compile error at the offending token's position in the file.
pub(crate) fn compile(
    when: Option<&Spanned<String>>,
    source: &Source,
) -> Result<Condition, Diagnostic> {
    let Some(when) = when else {
        return Ok(ferry_rules::always());
    };
    ferry_rules::compile(&when.value).map_err(|error| {
        let at = position::inside_scalar(source, when.referenced, &when.value, error.offset);
        let diagnostic =
            Diagnostic::new(&source.name, at, format!("bad `when`: {}", error.message));
        match error.hint {
            Some(hint) => diagnostic.with_hint(hint),
            None => diagnostic,
        }
    })
}
