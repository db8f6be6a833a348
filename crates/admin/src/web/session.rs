//! Logged-in sessions of the web UI, kept in memory: a restart logs everyone out.
//!
//! A session is named by a random 256-bit id that only the `ferry_session` cookie carries
//! (HttpOnly, so page script never sees it); the map is keyed by the id's SHA-256 digest,
//! so the lookup's timing says nothing about valid ids. Each session has its own CSRF
//! token, which the UI reads from `/api/session` and sends back in `X-CSRF-Token`. A
//! session ends at logout, after [`IDLE_LIMIT`] without a request, or [`LIFETIME`] after
//! login, whichever comes first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::problem::Problem;
use super::router::WebState;
use crate::Actor;

/// The cookie that carries the session id.
pub(super) const COOKIE_NAME: &str = "ferry_session";

/// The header that carries the session's CSRF token on every state change.
pub(super) const CSRF_HEADER: &str = "x-csrf-token";

/// A session ends after this long without a request.
pub(super) const IDLE_LIMIT: Duration = Duration::from_secs(30 * 60);

/// A session ends this long after login, however busy.
pub(super) const LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// A logged-in person, as a handler sees them.
#[derive(Debug, Clone)]
pub(super) struct Session {
    /// Who: a user name, or `token`.
    pub(super) actor: Actor,
    /// The token state changes must carry.
    pub(super) csrf: Arc<str>,
}

/// What the server keeps per session.
#[derive(Debug)]
struct Entry {
    session: Session,
    created: Instant,
    last_used: Instant,
}

impl Entry {
    fn is_live(&self, now: Instant) -> bool {
        now.duration_since(self.last_used) < IDLE_LIMIT
            && now.duration_since(self.created) < LIFETIME
    }
}

/// Every live session, by the digest of its id.
#[derive(Debug, Default)]
pub(super) struct Sessions {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl Sessions {
    /// Starts a session for `actor`; returns the id for the cookie and the session.
    ///
    /// # Errors
    ///
    /// A sentence when the system has no randomness.
    pub(super) fn open(&self, actor: Actor) -> Result<(String, Session), String> {
        let id = random_token()?;
        let session = Session {
            actor,
            csrf: random_token()?.into(),
        };
        let now = Instant::now();

        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, entry| entry.is_live(now));
        let entry = Entry {
            session: session.clone(),
            created: now,
            last_used: now,
        };
        entries.insert(digest(&id), entry);
        Ok((id, session))
    }

    /// The live session named by `id`, marking it used; `None` for an unknown or
    /// expired one (which is forgotten then).
    pub(super) fn touch(&self, id: &str) -> Option<Session> {
        let key = digest(id);
        let now = Instant::now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get_mut(&key)?;
        if !entry.is_live(now) {
            entries.remove(&key);
            return None;
        }
        entry.last_used = now;
        Some(entry.session.clone())
    }

    /// Whether the session named by `id` is still live, without marking it used (a live
    /// stream staying open is not the person being active).
    pub(super) fn is_live(&self, id: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(&digest(id))
            .is_some_and(|entry| entry.is_live(Instant::now()))
    }

    /// Ends the session named by `id`.
    pub(super) fn close(&self, id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&digest(id));
    }
}

impl Session {
    /// Whether `presented` is this session's CSRF token.
    pub(super) fn csrf_matches(&self, presented: &str) -> bool {
        bool::from(presented.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

/// The session id in the request's cookies, if any.
pub(super) fn cookie_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
}

/// The `Set-Cookie` value that hands `id` to the browser: never readable by script, never
/// sent with a request another site starts, only over TLS when the server has TLS.
pub(super) fn set_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    let max_age = LIFETIME.as_secs();
    format!("{COOKIE_NAME}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}")
}

/// The `Set-Cookie` value that makes the browser forget the session.
pub(super) fn clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

impl FromRequestParts<WebState> for Session {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        web: &WebState,
    ) -> Result<Self, Self::Rejection> {
        cookie_id(parts)
            .and_then(|id| web.sessions.touch(&id))
            .ok_or_else(|| Problem::new(StatusCode::UNAUTHORIZED, "log in first"))
    }
}

fn random_token() -> Result<String, String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| format!("no randomness for a session: {error}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn digest(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_touch_and_close() {
        let sessions = Sessions::default();
        let (id, session) = sessions.open(Actor("alice".to_owned())).unwrap();
        assert_eq!(sessions.touch(&id).unwrap().actor, session.actor);
        assert!(sessions.touch("not-an-id").is_none());
        assert!(session.csrf_matches(&session.csrf));
        assert!(!session.csrf_matches("guess"));

        sessions.close(&id);
        assert!(sessions.touch(&id).is_none());
        assert!(!sessions.is_live(&id));
    }

    #[test]
    fn the_cookie_is_strict_and_secure_under_tls() {
        let cookie = set_cookie("abc", true);
        assert!(cookie.starts_with("ferry_session=abc; HttpOnly; SameSite=Strict; Path=/"));
        assert!(cookie.ends_with("; Secure"));
        assert!(!set_cookie("abc", false).contains("Secure"));
    }
}
