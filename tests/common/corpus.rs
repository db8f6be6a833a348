//! The shared public HL7 corpus in `../shared/corpus/hl7` (never copied into the
//! repository). Tests that need it skip with a message when it is missing, and fail
//! instead under `CI=true`.

use std::path::PathBuf;

use serde_json::Value;

/// One corpus entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub file: String,
    pub path: PathBuf,
    pub malformed: bool,
    pub expected: Value,
}

/// The corpus folder, or `None` (after printing why) when it is missing outside CI.
pub fn folder() -> Option<PathBuf> {
    let folder = super::repo().join("../shared/corpus/hl7");
    if folder.join("manifest.json").is_file() {
        return Some(folder);
    }
    let message = format!("skipped: HL7 corpus not found at {}", folder.display());
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{message} (required under CI=true)"
    );
    eprintln!("{message}");
    None
}

/// Every entry of the manifest.
pub fn entries() -> Option<Vec<Entry>> {
    let folder = folder()?;
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().expect("manifest has files");
    let entries = files
        .iter()
        .map(|entry| {
            let file = entry["file"].as_str().unwrap().to_owned();
            let malformed = entry["tags"]
                .as_array()
                .map(|tags| {
                    tags.iter()
                        .any(|t| t.as_str().unwrap_or("").starts_with("malformed:"))
                })
                .unwrap_or(false);
            Entry {
                path: folder.join(&file),
                file,
                malformed,
                expected: entry["expected"].clone(),
            }
        })
        .collect();
    Some(entries)
}
