//! Logging in and out of the web UI.
//!
//! A login presents either the admin token (no user name) or a user's password; failures
//! are counted by [`crate::Credentials`], which answers "too many" (429) for a while after
//! repeated guesses. Argon2 checks run on a blocking thread so they never stall other
//! requests. A successful login sets the `ferry_session` cookie and returns the session's
//! CSRF token; `/api/session` returns it again after a page reload.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::problem::Problem;
use super::router::WebState;
use super::session::{Session, clear_cookie, cookie_id, set_cookie};
use crate::{Actor, Refusal};

/// What the login form sends.
#[derive(Debug, Deserialize)]
pub(super) struct LoginForm {
    /// A user name; empty or absent when the password is the admin token.
    #[serde(default)]
    user: String,
    /// The user's password, or the admin token.
    password: String,
}

/// Checks the credentials and starts a session.
pub(super) async fn login(
    State(web): State<WebState>,
    Json(form): Json<LoginForm>,
) -> Result<Response, Problem> {
    let actor = check(&web, form).await?;

    let (id, session) = web
        .sessions
        .open(actor)
        .map_err(|text| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, text))?;
    tracing::info!(actor = %session.actor, "admin web: logged in");

    let cookie = set_cookie(&id, web.admin.tls.is_some());
    Ok(([(SET_COOKIE, cookie)], Json(describe(&web, &session))).into_response())
}

async fn check(web: &WebState, form: LoginForm) -> Result<Actor, Problem> {
    let credentials = web.admin.credentials.clone();
    let checked = if form.user.is_empty() {
        credentials.check_token(&form.password)
    } else {
        credentials.check_password(&form.user, &form.password).await
    };
    checked.map_err(|refusal| match refusal {
        Refusal::Wrong => Problem::new(StatusCode::UNAUTHORIZED, refusal.to_string()),
        Refusal::TooMany => Problem::new(StatusCode::TOO_MANY_REQUESTS, refusal.to_string()),
    })
}

/// Ends the session and clears the cookie.
pub(super) async fn logout(State(web): State<WebState>, parts: Parts) -> Response {
    if let Some(id) = cookie_id(&parts) {
        web.sessions.close(&id);
    }
    let cookie = clear_cookie(web.admin.tls.is_some());
    ([(SET_COOKIE, cookie)], StatusCode::NO_CONTENT).into_response()
}

/// Who is logged in and their CSRF token; 401 with whether the login form must ask for a
/// user name when nobody is.
pub(super) async fn session(State(web): State<WebState>, parts: Parts) -> Response {
    match cookie_id(&parts).and_then(|id| web.sessions.touch(&id)) {
        Some(session) => Json(describe(&web, &session)).into_response(),
        None => {
            let body = json!({
                "error": "log in first",
                "users": web.admin.credentials.has_users(),
            });
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
    }
}

fn describe(web: &WebState, session: &Session) -> serde_json::Value {
    json!({
        "user": session.actor.0,
        "csrf": &*session.csrf,
        "production": web.admin.engine.production().name,
    })
}
