//! The `store:` section, checked, with its defaults.
//!
//! Owns [`read`] and the duration checks shared with `retry:`. Every key is optional; a
//! bad value is reported and its default used, so the rest of the file is still checked.
//! A search field listed twice (however it is spelt) is reported with both positions and
//! indexed once.

use std::path::PathBuf;
use std::time::Duration;

use ferry_hl7::FieldPath;
use serde_saphyr::Spanned;

use crate::diagnostic::{Diagnostic, Diagnostics, Location};
use crate::document::Step;
use crate::load::Context;
use crate::model::{DurabilitySetting, StoreSettings};
use crate::outline::Node;
use crate::raw::StoreRaw;
use crate::{position, suggest, values};

const DEFAULT_SEARCH_FIELDS: [&str; 2] = ["MSH-10", "PID-3.1"];

/// Reads `store:`; defaults where it says nothing or something wrong.
pub(crate) fn read(
    cx: &Context<'_>,
    root: &Node,
    production: &str,
    problems: &mut Diagnostics,
) -> StoreSettings {
    let raw = match cx.outline.given(root, "store") {
        Some(_) => cx.read::<StoreRaw>(&[Step::Key("store")], problems),
        None => Ok(None),
    };
    let raw = raw.ok().flatten().unwrap_or_default();

    StoreSettings {
        path: path(cx, raw.path.as_ref(), production, problems),
        durability: durability(cx, raw.durability.as_ref(), problems),
        retention: raw
            .retention
            .as_ref()
            .and_then(|text| positive_duration(cx, text, "retention", problems)),
        purge_every: raw
            .purge_every
            .as_ref()
            .and_then(|text| positive_duration(cx, text, "purge_every", problems))
            .unwrap_or(Duration::from_secs(3_600)),
        duplicate_window: raw
            .duplicate_window
            .as_ref()
            .and_then(|text| duration(cx, text, problems))
            .unwrap_or(Duration::from_secs(86_400)),
        search_fields: search_fields(cx, raw.search_fields.as_deref(), problems),
        cache_mb: cache_mb(cx, raw.cache_mb.as_ref(), problems),
    }
}

fn path(
    cx: &Context<'_>,
    path: Option<&Spanned<String>>,
    production: &str,
    problems: &mut Diagnostics,
) -> PathBuf {
    let Some(path) = path else {
        return PathBuf::from("./var").join(production);
    };
    if path.value.trim().is_empty() {
        problems.push(cx.error(
            path.referenced.into(),
            "`path` is empty: it names the store folder",
        ));
    }
    PathBuf::from(&path.value)
}

fn durability(
    cx: &Context<'_>,
    written: Option<&Spanned<String>>,
    problems: &mut Diagnostics,
) -> DurabilitySetting {
    let Some(written) = written else {
        return DurabilitySetting::Fsync;
    };
    match written.value.as_str() {
        "fsync" => DurabilitySetting::Fsync,
        "os" => DurabilitySetting::Os,
        other => {
            let message = format!("unknown durability `{other}`");
            let hint = suggest::hint(other, ["fsync", "os"]);
            problems.push(cx.error(written.referenced.into(), message).with_hint(hint));
            DurabilitySetting::Fsync
        }
    }
}

fn search_fields(
    cx: &Context<'_>,
    written: Option<&[Spanned<String>]>,
    problems: &mut Diagnostics,
) -> Vec<FieldPath> {
    let Some(written) = written else {
        return DEFAULT_SEARCH_FIELDS
            .iter()
            .filter_map(|path| FieldPath::parse(path).ok())
            .collect();
    };
    // Each field with how and where it was first written.
    let mut fields: Vec<(FieldPath, &str, Location)> = Vec::new();
    for path in written {
        let at = Location::from(path.referenced);
        match FieldPath::parse(&path.value) {
            Ok(field) => match fields.iter().find(|(known, _, _)| *known == field) {
                Some(&(_, first, first_at)) => {
                    problems.push(repeated_field(cx, (first, first_at), (&path.value, at)));
                }
                None => fields.push((field, &path.value, at)),
            },
            Err(error) => {
                let at = position::inside_scalar(
                    cx.source(),
                    path.referenced,
                    &path.value,
                    error.offset,
                );
                let message = format!("bad search field `{}`: {}", path.value, error.reason);
                let hint = "an HL7 field path such as MSH-10, PID-3.1 or OBX[2]-5";
                problems.push(cx.error(at, message).with_hint(hint));
            }
        }
    }
    fields.into_iter().map(|(field, _, _)| field).collect()
}

/// A search field listed twice, perhaps spelt two ways (`PID-3` and `PID[1]-3`): indexing
/// it twice would only cost space, but the repeat is more likely a typo for another field.
fn repeated_field(
    cx: &Context<'_>,
    (first, first_at): (&str, Location),
    (again, again_at): (&str, Location),
) -> Diagnostic {
    let message = if first == again {
        format!("duplicate search field `{again}` at {first_at} and {again_at}")
    } else {
        format!("duplicate search field `{again}`: the same field as `{first}` at {first_at}")
    };
    cx.error(again_at, message)
        .with_hint("keep one of them; each field is indexed once")
}

fn cache_mb(cx: &Context<'_>, written: Option<&Spanned<i64>>, problems: &mut Diagnostics) -> u64 {
    let Some(written) = written else {
        return 128;
    };
    match u64::try_from(written.value) {
        Ok(megabytes) if megabytes >= 1 => megabytes,
        _ => {
            let message = format!("`cache_mb` must be at least 1, found {}", written.value);
            problems.push(cx.error(written.referenced.into(), message));
            128
        }
    }
}

/// A duration; a bad one is reported.
pub(crate) fn duration(
    cx: &Context<'_>,
    text: &Spanned<String>,
    problems: &mut Diagnostics,
) -> Option<Duration> {
    match values::parse_duration(&text.value) {
        Ok(duration) => Some(duration),
        Err(error) => {
            let diagnostic = cx.error(text.referenced.into(), error.message());
            problems.push(match error.hint() {
                Some(hint) => diagnostic.with_hint(hint),
                None => diagnostic,
            });
            None
        }
    }
}

/// A duration that must be longer than zero.
pub(crate) fn positive_duration(
    cx: &Context<'_>,
    text: &Spanned<String>,
    key: &str,
    problems: &mut Diagnostics,
) -> Option<Duration> {
    let duration = duration(cx, text, problems)?;
    if duration.is_zero() {
        let message = format!("`{key}` must be longer than 0");
        problems.push(cx.error(text.referenced.into(), message));
        return None;
    }
    Some(duration)
}
