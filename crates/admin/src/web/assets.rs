//! The UI's files, embedded from the repository's `ui/` folder at build time; with the
//! `debug-embed` feature debug builds embed them too, so every binary serves the UI it
//! was built with, wherever it runs. They hold no data, so they need no login; the data
//! comes from `/api`, which does.

use std::borrow::Cow;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

/// The `ui/` folder.
#[derive(RustEmbed)]
// Relative to this crate's manifest.
#[folder = "../../ui"]
struct Ui;

/// The single page.
pub(super) async fn index() -> Response {
    serve("index.html")
}

/// A script, style sheet or image of the UI.
pub(super) async fn file(Path(path): Path<String>) -> Response {
    serve(&path)
}

/// Any path that is not a route.
pub(super) async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

fn serve(path: &str) -> Response {
    let Some(file) = Ui::get(path) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let headers = [
        (CONTENT_TYPE, content_type(path)),
        // Always ask again, so a new binary's UI replaces the old one at once.
        (CACHE_CONTROL, "no-cache"),
    ];
    let bytes: Cow<'static, [u8]> = file.data;
    (headers, bytes.into_owned()).into_response()
}

fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    match extension {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}
