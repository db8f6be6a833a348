//! The admin web server of a real `ferry run`, spoken to over HTTP as a browser would:
//! probes answer without credentials and nothing else does; login sets a strict session
//! cookie; every state change needs the same origin and the session's CSRF token, and a
//! refused one changes nothing and is in the event log; GETs change nothing; raw bodies
//! download as attachments that cannot be sniffed into markup; `/metrics` shows the
//! series operators alert on once messages flow.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::admin::{ADMIN_SECTION, AdminFerry, TEST_TOKEN};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(30);

/// A file service feeding a file operation that starts disabled, so messages wait in its
/// queue until a test enables it.
fn production(dir: &Path) -> std::path::PathBuf {
    common::admin::file_production(dir, "admin-web", false)
}

/// A browser-like client of the admin web server: keeps the session cookie and the CSRF
/// token, and sends the server's own origin unless a test says otherwise.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
    csrf: String,
}

impl Browser {
    fn new(admin: &AdminFerry) -> Browser {
        Browser {
            base: format!("http://{}", admin.http),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
            csrf: String::new(),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        request
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
    }

    async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.json().await.unwrap()
    }

    /// A POST as the UI sends it: own origin, CSRF token, JSON body.
    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.request(reqwest::Method::POST, path)
            .header("origin", &self.base)
            .header("x-csrf-token", &self.csrf)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn login(&mut self, password: &str) -> reqwest::Response {
        self.login_as("", password).await
    }

    async fn login_as(&mut self, user: &str, password: &str) -> reqwest::Response {
        let response = self
            .request(reqwest::Method::POST, "/api/login")
            .header("origin", &self.base)
            .json(&json!({ "user": user, "password": password }))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            let cookie = set_cookie(response.headers());
            self.cookie = cookie.split(';').next().map(str::to_owned);
        }
        response
    }

    /// The messages a search finds.
    async fn search(&self, query: &str) -> Vec<Value> {
        let page = self.get_json(&format!("/api/messages?{query}")).await;
        page["messages"].as_array().unwrap().clone()
    }

    async fn status_of(&self, id: u64) -> String {
        let detail = self.get_json(&format!("/api/messages/{id}")).await;
        detail["header"]["status"].as_str().unwrap().to_owned()
    }

    async fn event_texts(&self) -> Vec<String> {
        let page = self.get_json("/api/events?limit=200").await;
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    async fn item_enabled(&self, name: &str) -> bool {
        let overview = self.get_json("/api/overview").await;
        let items = overview["items"].as_array().unwrap();
        let item = items.iter().find(|item| item["name"] == name).unwrap();
        item["enabled"].as_bool().unwrap()
    }
}

fn set_cookie(headers: &HeaderMap) -> String {
    headers
        .get("set-cookie")
        .expect("a Set-Cookie header")
        .to_str()
        .unwrap()
        .to_owned()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

async fn wait_for<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_probes_and_the_ui_files_answer_without_a_session() {
    let dir = tempfile::tempdir().unwrap();
    let admin = AdminFerry::start(&production(dir.path()), &[("DIR", dir.path())]);
    let browser = Browser::new(&admin);

    assert_eq!(browser.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(browser.get("/readyz").await.status(), StatusCode::OK);
    let metrics = browser.get("/metrics").await;
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(header(&metrics, "content-type").starts_with("text/plain"));

    for path in [
        "/api/overview",
        "/api/queues",
        "/api/messages",
        "/api/messages/1",
        "/api/messages/1/raw",
        "/api/sessions/1/trace",
        "/api/events",
        "/api/live",
    ] {
        let response = browser.get(path).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "GET {path}");
    }
    for path in ["/api/items/Out/enable", "/api/messages/1/discard"] {
        let response = browser.post(path, json!({})).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "POST {path}");
    }
    let session = browser.get("/api/session").await;
    assert_eq!(session.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(session.json::<Value>().await.unwrap()["users"], false);

    let page = browser.get("/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(
        header(&page, "content-security-policy"),
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    );
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "referrer-policy"), "no-referrer");
    assert_eq!(header(&page, "x-frame-options"), "DENY");
    let html = page.text().await.unwrap();
    assert!(html.contains("/ui/app.js"), "{html}");
    assert!(!html.contains("<script>"), "no inline script: {html}");
    let script = browser.get("/ui/app.js").await;
    assert!(header(&script, "content-type").starts_with("text/javascript"));
    let missing = browser.get("/nothing-here").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().contains_key("content-security-policy"));

    admin.ferry.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_changes_need_the_origin_and_the_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    let admin = AdminFerry::start(&production(dir.path()), &[("DIR", dir.path())]);
    let mut browser = Browser::new(&admin);

    // Login: a wrong token is refused without a cookie; the right one gets a strict one.
    let wrong = browser.login("not-the-token").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().get("set-cookie").is_none());
    let right = browser.login(TEST_TOKEN).await;
    assert_eq!(right.status(), StatusCode::OK);
    let cookie = set_cookie(right.headers());
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "no TLS here: {cookie}");
    let session: Value = right.json().await.unwrap();
    assert_eq!(session["user"], "token");
    browser.csrf = session["csrf"].as_str().unwrap().to_owned();
    assert_eq!(
        browser.get_json("/api/session").await["csrf"],
        session["csrf"]
    );

    // A message waits in the disabled operation's queue.
    common::drop_file(&dir.path().join("in"), "a.hl7", &common::hl7::m(1));
    wait_for("the message to be queued", || async {
        browser.search("status=Queued&target=Out").await.len() == 1
    })
    .await;
    let found = browser.search("field=MSH-10&value=MSG0001").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let id = found[0]["id"].as_u64().unwrap();
    let discard = format!("/api/messages/{id}/discard");

    // Without the token, from another origin, or with no origin at all: 403, no change.
    let no_token = browser
        .request(reqwest::Method::POST, &discard)
        .header("origin", &browser.base)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let foreign = browser
        .request(reqwest::Method::POST, &discard)
        .header("origin", "http://127.0.0.1:8099")
        .header("x-csrf-token", &browser.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    let no_origin = browser
        .request(reqwest::Method::POST, &discard)
        .header("x-csrf-token", &browser.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), StatusCode::FORBIDDEN);
    let foreign_enable = browser
        .request(reqwest::Method::POST, "/api/items/Out/enable")
        .header("origin", "http://127.0.0.1:8099")
        .header("x-csrf-token", &browser.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign_enable.status(), StatusCode::FORBIDDEN);

    // GET on action URLs changes nothing either.
    for path in [
        discard.clone(),
        format!("/api/messages/{id}/resend"),
        "/api/items/Out/enable".to_owned(),
        "/api/logout".to_owned(),
    ] {
        let response = browser.get(&path).await;
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "GET {path}"
        );
    }
    assert_eq!(browser.status_of(id).await, "Queued");
    assert!(!browser.item_enabled("Out").await);
    assert_eq!(browser.get("/api/session").await.status(), StatusCode::OK);

    let events = browser.event_texts().await;
    let refused = |needle: &str| events.iter().any(|text| text.contains(needle));
    assert!(
        refused(&format!("refused POST {discard}: it carries no CSRF token")),
        "{events:#?}"
    );
    assert!(
        refused("it came from 'http://127.0.0.1:8099'"),
        "{events:#?}"
    );

    // The raw body downloads as an attachment that cannot be rendered.
    let raw = browser.get(&format!("/api/messages/{id}/raw")).await;
    assert_eq!(raw.status(), StatusCode::OK);
    assert_eq!(header(&raw, "content-type"), "text/plain; charset=utf-8");
    assert_eq!(header(&raw, "x-content-type-options"), "nosniff");
    assert!(header(&raw, "content-disposition").starts_with("attachment"));
    assert_eq!(raw.bytes().await.unwrap().as_ref(), common::hl7::m(1));

    // With origin and token, the same calls work and are logged with the actor.
    let enabled = browser.post("/api/items/Out/enable", json!({})).await;
    assert_eq!(enabled.status(), StatusCode::OK);
    wait_for("the message to be delivered", || async {
        browser.status_of(id).await == "Completed"
    })
    .await;
    let resent = browser
        .post(
            "/api/messages/actions",
            json!({ "action": "resend", "ids": [id, 999_999] }),
        )
        .await;
    assert_eq!(resent.status(), StatusCode::OK);
    let results: Value = resent.json().await.unwrap();
    assert_eq!(results["results"][0]["ok"], true, "{results}");
    assert!(results["results"][0]["resent_as"].as_u64().is_some());
    assert_eq!(results["results"][1]["ok"], false, "{results}");

    let trace = browser
        .get_json(&format!("/api/sessions/{}/trace", found[0]["session"]))
        .await;
    let hops = trace["hops"].as_array().unwrap();
    assert_eq!(hops.len(), 2, "the hop and its resend: {trace}");
    assert_eq!(hops[1]["resend_of"], json!(id), "{trace}");

    // What operators alert on is exported once messages flow.
    let metrics = browser.get("/metrics").await.text().await.unwrap();
    for series in [
        "ferry_messages_in_total{production=\"admin-web\",item=\"In\"} 1",
        "ferry_queue_depth",
        "ferry_processing_seconds_bucket",
        "ferry_store_flush_seconds",
    ] {
        assert!(metrics.contains(series), "{series} in:\n{metrics}");
    }

    // Logging out ends the session.
    let out = browser.post("/api/logout", json!({})).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        browser.get("/api/overview").await.status(),
        StatusCode::UNAUTHORIZED
    );

    admin.ferry.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_reports_queue_depths() {
    let dir = tempfile::tempdir().unwrap();
    let admin = AdminFerry::start(&production(dir.path()), &[("DIR", dir.path())]);
    let mut browser = Browser::new(&admin);
    assert_eq!(browser.login(TEST_TOKEN).await.status(), StatusCode::OK);

    let mut live = browser.get("/api/live").await;
    assert_eq!(live.status(), StatusCode::OK);
    assert!(header(&live, "content-type").starts_with("text/event-stream"));
    common::drop_file(&dir.path().join("in"), "b.hl7", &common::hl7::m(2));

    let mut seen = String::new();
    let deadline = Instant::now() + WAIT;
    while !seen.contains("event: depth") {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, live.chunk()).await;
        let chunk = chunk
            .expect("a depth event in time")
            .unwrap()
            .expect("more");
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("\"item\":\"Out\""), "{seen}");

    // The server stops although a stream is open.
    let status = admin.ferry.stop();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_tls_the_cookie_is_secure_and_the_origin_is_https() {
    let dir = tempfile::tempdir().unwrap();
    common::http::make_certificates(dir.path());
    let yaml = r#"
production: admin-web-tls
store: { path: "${DIR}/data" }
admin:
  http: '127.0.0.1:0'
  grpc: '127.0.0.1:0'
  tls: { certificate: "${DIR}/server.pem", key: "${DIR}/server.key" }
items:
  - name: Out
    operation: file
    settings: { path: "${DIR}/out" }
"#;
    let production = dir.path().join("production.yaml");
    std::fs::write(&production, yaml).unwrap();
    let admin = AdminFerry::start(&production, &[("DIR", dir.path())]);

    let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .resolve("localhost", admin.http)
        .build()
        .unwrap();
    let base = format!("https://localhost:{}", admin.http.port());

    let login = client
        .post(format!("{base}/api/login"))
        .header("origin", &base)
        .json(&json!({ "password": TEST_TOKEN }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = set_cookie(login.headers());
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let session: Value = login.json().await.unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let csrf = session["csrf"].as_str().unwrap();

    let disable = |origin: String| {
        client
            .post(format!("{base}/api/items/Out/disable"))
            .header("origin", origin)
            .header("cookie", &cookie)
            .header("x-csrf-token", csrf)
            .send()
    };
    let plain = disable(format!("http://localhost:{}", admin.http.port()));
    assert_eq!(plain.await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(
        disable(base.clone()).await.unwrap().status(),
        StatusCode::OK
    );

    admin.ferry.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_users_sign_in_and_act_under_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users");
    let hash = ferry_admin::hash_password("correct horse battery").unwrap();
    std::fs::write(&users, format!("# admins\nalice:{hash}\n")).unwrap();
    let path = production(dir.path());
    let with_users = std::fs::read_to_string(&path).unwrap().replace(
        ADMIN_SECTION,
        "admin: {http: '127.0.0.1:0', grpc: '127.0.0.1:0', users: '${DIR}/users'}\n",
    );
    std::fs::write(&path, with_users).unwrap();
    let admin = AdminFerry::start(&path, &[("DIR", dir.path())]);
    let mut browser = Browser::new(&admin);

    let wrong = browser.login_as("alice", "wrong horse").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let unknown = browser.login_as("mallory", "correct horse battery").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let right = browser.login_as("alice", "correct horse battery").await;
    assert_eq!(right.status(), StatusCode::OK);

    let session = browser.get_json("/api/session").await;
    assert_eq!(session["user"], "alice");
    browser.csrf = session["csrf"].as_str().unwrap().to_owned();
    let enabled = browser.post("/api/items/Out/enable", json!({})).await;
    assert_eq!(enabled.status(), StatusCode::OK);

    let events = browser.get_json("/api/events?limit=50").await;
    let by_alice = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|event| event["text"] == "item enabled" && event["actor"] == "alice");
    assert!(by_alice, "{events}");
    admin.ferry.stop();
}
