//! HTTP for the HTTP adapter's tests. Towards Ferry's own service, raw sockets: requests
//! written byte by byte as a test needs them (chunked, both length headers, a body cut
//! short) and responses read without any HTTP library, so that the tests see exactly what
//! went over the wire. For the operation, a local axum server over TLS standing in for the
//! far side, which records every request and answers from a script.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;

/// A response as read off the wire.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    /// Header names in lower case, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "not JSON ({error}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// A head and body, read until the head's end and then Content-Length bytes.
pub async fn read_message<S: AsyncRead + Unpin>(stream: &mut S) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut byte = [0u8; 1];
    while !buffer.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => buffer.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&buffer).into_owned();
    let length = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).await.ok()?;
    Some((head, body))
}

/// Reads one response.
pub async fn read_response<S: AsyncRead + Unpin>(stream: &mut S) -> Option<RawResponse> {
    let (head, body) = read_message(stream).await?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        })
        .collect();
    Some(RawResponse {
        status,
        headers,
        body,
    })
}

/// Whether the peer closed the connection (reads end) within `wait`.
pub async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(wait, stream.read(&mut byte)).await,
        Ok(Ok(0) | Err(_))
    )
}

/// Connects, writes `request` and reads the response.
pub async fn exchange(addr: SocketAddr, request: &[u8]) -> (RawResponse, TcpStream) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let response = read_response(&mut stream).await.expect("a response");
    (response, stream)
}

/// A POST request with a Content-Length.
pub fn post(path: &str, content_type: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// `body` as a chunked body cut at `cuts` (offsets), with the closing chunk.
pub fn chunked(body: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut start = 0;
    for end in cuts.iter().copied().chain([body.len()]) {
        let piece = &body[start..end];
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
        start = end;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// `length` bytes of `A`, gzip-compressed by the system's `gzip`.
pub fn gzip_of_a(length: usize) -> Vec<u8> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("gzip")
        .args(["-c", "-9"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip runs");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let block = vec![b'A'; 1 << 20];
        let mut left = length;
        while left > 0 {
            let n = left.min(block.len());
            stdin.write_all(&block[..n]).unwrap();
            left -= n;
        }
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output.stdout
}

/// A request as the test server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    /// Method, path with query, and version, as in `POST /results/X HTTP/1.1`.
    pub request_line: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the test server does with one request.
#[derive(Debug, Clone)]
pub struct Answer {
    pub delay: Duration,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn status(status: u16) -> Answer {
        Answer {
            delay: Duration::ZERO,
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn with_body(mut self, body: &str) -> Answer {
        self.body = body.to_owned();
        self
    }

    pub fn after(mut self, delay: Duration) -> Answer {
        self.delay = delay;
        self
    }
}

type Script = Box<dyn Fn(&Seen, &[Seen]) -> Answer + Send + Sync>;

/// What the router's one handler needs: where to record, and whom to ask.
#[derive(Clone)]
struct Far {
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Script>,
}

/// An HTTPS server on 127.0.0.1 standing in for the far side: an axum router that records
/// every request (with its headers) and answers through a script that sees the request and
/// all earlier ones. Its certificate can be swapped while it runs.
pub struct TestServer {
    pub addr: SocketAddr,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    acceptor: Arc<Mutex<TlsAcceptor>>,
    /// TLS handshakes that failed, with the error.
    pub refused: Arc<Mutex<VecDeque<String>>>,
}

impl TestServer {
    pub async fn start(certificate: &Path, key: &Path, script: Script) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = Arc::new(Mutex::new(acceptor(certificate, key)));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let refused = Arc::new(Mutex::new(VecDeque::new()));
        let far = Far {
            seen: Arc::clone(&seen),
            script: Arc::new(script),
        };
        let router = Router::new().fallback(answer).with_state(far);
        let server = TestServer {
            addr,
            seen,
            acceptor: Arc::clone(&acceptor),
            refused: Arc::clone(&refused),
        };
        // axum's own `serve` takes plain TCP only; TLS is accepted here so that each
        // connection uses the certificate in place when it arrives, and a failed handshake
        // is recorded rather than dropped.
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let tls = acceptor.lock().unwrap().clone();
                let (router, refused) = (router.clone(), Arc::clone(&refused));
                tokio::spawn(async move {
                    match tls.accept(socket).await {
                        Ok(stream) => serve(stream, router).await,
                        Err(error) => refused.lock().unwrap().push_back(error.to_string()),
                    }
                });
            }
        });
        server
    }

    /// Serves with another certificate from the next connection on.
    pub fn use_certificate(&self, certificate: &Path, key: &Path) {
        *self.acceptor.lock().unwrap() = acceptor(certificate, key);
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Serves HTTP on one accepted TLS stream with hyper-util's server, which speaks HTTP/1.1 or
/// HTTP/2, whichever the client opens with; the TLS setup offers no ALPN, so clients that
/// negotiate (reqwest, curl) speak HTTP/1.1.
async fn serve(stream: TlsStream<TcpStream>, router: Router) {
    let mut builder = Builder::new(TokioExecutor::new());
    // One request per connection (hyper then answers with `Connection: close`), so that
    // every attempt of the operation makes a fresh TLS handshake with the certificate in
    // use at that moment.
    builder.http1().keep_alive(false);
    let service = TowerToHyperService::new(router);
    // A client that gives up (the operation's response timeout) ends the connection with
    // an error; the request is already recorded, and there is no one left to tell.
    let _ = builder
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Records the request, then answers as the script says, after the script's delay.
async fn answer(State(far): State<Far>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let request_line = format!("{} {} {:?}", parts.method, parts.uri, parts.version);
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        // The body never arrived whole: not a request the script could judge.
        return StatusCode::BAD_REQUEST.into_response();
    };
    let request = Seen {
        at: Instant::now(),
        request_line,
        headers,
        body: body.to_vec(),
    };
    let answer = {
        let mut all = far.seen.lock().unwrap();
        let earlier = all.clone();
        all.push(request.clone());
        (far.script)(&request, &earlier)
    };
    tokio::time::sleep(answer.delay).await;
    let status = StatusCode::from_u16(answer.status).expect("a valid status in the script");
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        answer.body,
    )
        .into_response();
    for (name, value) in &answer.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a header name");
        let value = HeaderValue::from_str(value).expect("a header value");
        response.headers_mut().append(name, value);
    }
    response
}

fn acceptor(certificate: &Path, key: &Path) -> TlsAcceptor {
    let chain = CertificateDer::pem_file_iter(certificate)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// Writes `ca.pem`, `server.pem`/`server.key` for `localhost` signed by the CA, and
/// `self.pem`/`self.key`, a self-signed `localhost` certificate, into `dir`.
pub fn make_certificates(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    // Distinct subject names: OpenSSL (curl) takes a certificate whose subject equals its
    // issuer for a self-signed one, and rcgen gives every certificate the same default.
    let params = |names: Vec<String>, common_name: &str| {
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name.remove(DnType::CommonName);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
    };
    let mut ca_params = params(Vec::new(), "Ferry test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();

    let key = KeyPair::generate().unwrap();
    let server = params(vec!["localhost".to_owned()], "localhost")
        .signed_by(&key, &issuer)
        .unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();

    let key = KeyPair::generate().unwrap();
    let alone = params(vec!["localhost".to_owned()], "localhost, self-signed")
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("self.pem"), alone.pem()).unwrap();
    std::fs::write(dir.join("self.key"), key.serialize_pem()).unwrap();
}

/// Runs `curl` with `args`, returning (HTTP status, body), or `None` after printing why
/// when curl is not installed (a failure under CI=true).
pub fn curl(args: &[&str]) -> Option<(u16, String)> {
    use std::process::Command;
    let output = match Command::new("curl")
        .args(["-sS", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
    {
        Ok(output) => output,
        Err(error) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "curl is needed under CI: {error}"
            );
            eprintln!("skipped: curl is not on PATH ({error})");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap();
    let status = status.trim().parse().unwrap_or(0);
    if status == 0 {
        // No HTTP answer: curl's own message says why (refused, TLS, timeout).
        return Some((0, String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    Some((status, body.to_owned()))
}
