//! The check every state-changing request passes before any handler runs.
//!
//! GET and HEAD change nothing anywhere in this server, so they pass. Every other method
//! must come from a page of this server: its `Origin` (or, when a browser sent none, its
//! `Referer`) must name the scheme and host the request was sent to. A request that
//! carries a session must also carry that session's CSRF token in `X-CSRF-Token`, which
//! only the UI's own script can read. Ports count: another service on the same machine
//! is same-site for the browser, so the cookie's `SameSite=Strict` alone does not stop it.
//!
//! A refused request gets 403 and changes nothing; when it carried a live session, the
//! refusal goes to the event log with that session's actor, since it means someone's
//! browser was made to send it. Refusals without a session are only traced, so strangers
//! cannot fill the log.

use axum::extract::{Request, State};
use axum::http::header::{HOST, ORIGIN, REFERER};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::problem::Problem;
use super::router::WebState;
use super::session::{CSRF_HEADER, Session, cookie_id};

/// The one state-changing path a request without a session may use.
const LOGIN_PATH: &str = "/api/login";

/// Lets safe requests through; checks origin and CSRF token on every other.
pub(super) async fn check(State(web): State<WebState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }

    let (parts, body) = request.into_parts();
    let session = cookie_id(&parts).and_then(|id| web.sessions.touch(&id));
    let verdict = same_origin(&parts, web.admin.tls.is_some())
        .and_then(|()| carries_token(&parts, session.as_ref()));

    match verdict {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(reason) => refuse(&web, &parts, session.as_ref(), &reason),
    }
}

/// Whether the request names this server as where it came from.
fn same_origin(parts: &Parts, tls: bool) -> Result<(), String> {
    let Some(host) = host(parts) else {
        return Err("the request names no host".to_owned());
    };
    let scheme = if tls { "https" } else { "http" };
    let expected = format!("{scheme}://{host}");

    let origin = match header(parts, ORIGIN.as_str()) {
        Some(origin) => origin.to_owned(),
        None => match header(parts, REFERER.as_str()) {
            Some(referer) => origin_of(referer),
            None => return Err("the request has neither Origin nor Referer".to_owned()),
        },
    };
    if origin.eq_ignore_ascii_case(&expected) {
        Ok(())
    } else {
        Err(format!("it came from '{origin}', not from {expected}"))
    }
}

/// Whether a request with a session carries the session's CSRF token. A request without
/// one is left to its handler, which answers 401 (or logs in).
fn carries_token(parts: &Parts, session: Option<&Session>) -> Result<(), String> {
    let Some(session) = session else {
        return Ok(());
    };
    if parts.uri.path() == LOGIN_PATH {
        return Ok(());
    }
    match header(parts, CSRF_HEADER) {
        Some(token) if session.csrf_matches(token) => Ok(()),
        Some(_) => Err("its CSRF token is wrong".to_owned()),
        None => Err("it carries no CSRF token".to_owned()),
    }
}

fn refuse(web: &WebState, parts: &Parts, session: Option<&Session>, reason: &str) -> Response {
    let text = format!("refused {} {}: {reason}", parts.method, parts.uri.path());
    match session {
        Some(session) => web
            .admin
            .engine
            .record_refusal(&session.actor.0, text.clone()),
        None => tracing::warn!(refusal = %text, "admin web: refused a request without a session"),
    }
    Problem::new(StatusCode::FORBIDDEN, text).into_response()
}

/// The host the request was sent to: `Host` for HTTP/1, the URI's authority for HTTP/2.
fn host(parts: &Parts) -> Option<String> {
    match header(parts, HOST.as_str()) {
        Some(host) => Some(host.to_owned()),
        None => parts.uri.authority().map(|authority| authority.to_string()),
    }
}

fn header<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// `scheme://host[:port]` of a URL, or the whole text when it has no path part.
fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = axum::http::Request::post("/api/messages/1/discard");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn only_this_server_is_the_origin() {
        let own = parts(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert!(same_origin(&own, false).is_ok());
        assert!(same_origin(&own, true).is_err(), "the scheme counts");

        let other_port = parts(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8099"),
        ]);
        assert!(same_origin(&other_port, false).is_err(), "the port counts");

        let referer = parts(&[
            ("host", "127.0.0.1:8080"),
            ("referer", "http://127.0.0.1:8080/#/messages?x=1"),
        ]);
        assert!(same_origin(&referer, false).is_ok());
        assert!(same_origin(&parts(&[("host", "127.0.0.1:8080")]), false).is_err());
    }
}
