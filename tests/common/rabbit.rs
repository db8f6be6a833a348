//! RabbitMQ for the AMQP tests: the shared broker named by `FERRY_TEST_AMQP_URL`, a
//! proxy that can cut the line to it, and private RabbitMQ nodes a test may stop, restart
//! or push into a memory alarm.
//!
//! What holds for every test that uses this module:
//!
//! - **Skip outside CI, fail under CI.** [`amqp_url`] and [`PrivateBroker::launch`]
//!   return `None` after printing `skipped: …` when the broker or RabbitMQ is not there,
//!   and panic instead under `CI=true`, where a skip would hide that the tests never ran.
//! - **The shared broker is left as it was found.** Tests create only objects named by
//!   [`unique_name`] (process id, a counter and the process start time, so parallel test
//!   binaries and earlier runs never collide) and record them in a [`BrokerObjects`],
//!   which deletes them when dropped, also when the test panics.
//! - **Nothing listens beyond loopback and nothing outlives the test process.** A
//!   [`CutProxy`] and a [`PrivateBroker`] listen on `127.0.0.1` only. A private node runs
//!   under a watchdog that kills its whole process group when the test process ends,
//!   even by SIGKILL, so a killed `cargo test` leaves no stray `beam.smp` behind.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::{Read, Seek, Write};
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

// ---------------------------------------------------------------------------------------
// Skipping
// ---------------------------------------------------------------------------------------

/// The environment variable naming the shared broker.
pub const AMQP_URL_VARIABLE: &str = "FERRY_TEST_AMQP_URL";

/// The shared broker's URL from `FERRY_TEST_AMQP_URL`, or `None` (after printing why)
/// when it is not set outside CI.
///
/// # Panics
///
/// When the variable is not set and `CI=true`.
pub fn amqp_url() -> Option<String> {
    match std::env::var(AMQP_URL_VARIABLE) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => missing(&format!(
            "{AMQP_URL_VARIABLE} is not set (point it at a RabbitMQ on this machine, e.g. \
             amqp://guest:guest@127.0.0.1:5672/%2f)"
        )),
    }
}

/// Prints `skipped: {why}` and returns `None`, or panics under `CI=true`: a resource that
/// is missing in CI is a broken build, not a reason to pass.
fn missing<T>(why: &str) -> Option<T> {
    let message = format!("skipped: {why}");
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{message} (required under CI=true)"
    );
    eprintln!("{message}");
    None
}

// ---------------------------------------------------------------------------------------
// Names and connections
// ---------------------------------------------------------------------------------------

/// One counter per test process for every name this module makes.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The process start time in milliseconds, base 36: with the process id it tells this run
/// apart from an earlier one that had the same process id.
fn run_stamp() -> &'static str {
    static STAMP: OnceLock<String> = OnceLock::new();
    STAMP.get_or_init(|| {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        to_base36(millis)
    })
}

fn to_base36(mut value: u128) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut digits = Vec::new();
    loop {
        digits.push(DIGITS[(value % 36) as usize]);
        value /= 36;
        if value == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII digits")
}

/// A name no other test, test process or earlier run uses: `{prefix}.{pid}.{n}.{stamp}`,
/// e.g. `t.in.4711.3.mj0k2x1a`.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}.{}.{n}.{}", std::process::id(), run_stamp())
}

/// Opens a lapin connection whose `connection_name` client property is `name`, which is
/// what [`PrivateBroker::close_connections_named`] and the broker's own listings show.
///
/// # Panics
///
/// When the broker does not accept the connection.
pub async fn connect(url: &str, name: &str) -> Connection {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    Connection::connect(url, properties)
        .await
        .unwrap_or_else(|error| panic!("cannot connect {name} to {url}: {error}"))
}

// ---------------------------------------------------------------------------------------
// Cleaning up the shared broker
// ---------------------------------------------------------------------------------------

/// How long dropping a [`BrokerObjects`] may take: cleanup must not hang a test that is
/// already failing because the broker went away.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The queues and exchanges a test created on a broker, deleted when this is dropped.
///
/// Deleting is best effort: a broker that cannot be reached within a few seconds gets a
/// warning on standard error, never a second panic. The deletion runs on a thread of its
/// own with its own runtime, because the drop often happens inside a test's runtime (or
/// while it unwinds) where blocking on another future is not possible.
#[derive(Debug)]
pub struct BrokerObjects {
    url: String,
    queues: Mutex<Vec<String>>,
    exchanges: Mutex<Vec<String>>,
}

impl BrokerObjects {
    /// A guard for objects on the broker at `url`. Give it the broker's own URL, not a
    /// [`CutProxy`]'s, so that cleanup still works after the proxy was cut.
    pub fn new(url: &str) -> BrokerObjects {
        BrokerObjects {
            url: url.to_owned(),
            queues: Mutex::new(Vec::new()),
            exchanges: Mutex::new(Vec::new()),
        }
    }

    /// A fresh [`unique_name`] for a queue the test is about to declare, recorded for
    /// deletion.
    pub fn queue(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        self.record_queue(&name);
        name
    }

    /// A fresh [`unique_name`] for an exchange the test is about to declare, recorded for
    /// deletion.
    pub fn exchange(&self, prefix: &str) -> String {
        let name = unique_name(prefix);
        self.record_exchange(&name);
        name
    }

    /// Records a queue made under another name (for example by the adapter under test).
    pub fn record_queue(&self, name: &str) {
        self.queues.lock().unwrap().push(name.to_owned());
    }

    /// Records an exchange made under another name.
    pub fn record_exchange(&self, name: &str) {
        self.exchanges.lock().unwrap().push(name.to_owned());
    }
}

impl Drop for BrokerObjects {
    fn drop(&mut self) {
        let queues = std::mem::take(&mut *self.queues.lock().unwrap_or_else(|e| e.into_inner()));
        let exchanges =
            std::mem::take(&mut *self.exchanges.lock().unwrap_or_else(|e| e.into_inner()));
        if queues.is_empty() && exchanges.is_empty() {
            return;
        }

        let url = self.url.clone();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for cleanup");
            let outcome = runtime.block_on(async {
                let deleting = delete_objects(&url, &queues, &exchanges);
                tokio::time::timeout(CLEANUP_TIMEOUT, deleting).await
            });
            let _ = done.send(outcome.is_ok());
        });

        // The thread is left behind (to die with the process) if it overruns.
        match finished.recv_timeout(CLEANUP_TIMEOUT + Duration::from_secs(1)) {
            Ok(true) => {}
            _ => eprintln!(
                "warning: cleanup of test queues/exchanges on {} did not finish within {:?}",
                self.url, CLEANUP_TIMEOUT
            ),
        }
    }
}

/// Deletes every named queue and exchange, reporting (not failing on) what cannot be.
async fn delete_objects(url: &str, queues: &[String], exchanges: &[String]) {
    let connection = match Connection::connect(url, ConnectionProperties::default()).await {
        Ok(connection) => connection,
        Err(error) => {
            eprintln!("warning: cannot connect to {url} to delete test objects: {error}");
            return;
        }
    };

    // A failed delete closes its channel, so each object gets a channel of its own.
    for queue in queues {
        let deleted = match connection.create_channel().await {
            Ok(channel) => channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
                .map(drop),
            Err(error) => Err(error),
        };
        if let Err(error) = deleted {
            eprintln!("warning: test queue {queue} not deleted: {error}");
        }
    }
    for exchange in exchanges {
        let deleted = match connection.create_channel().await {
            Ok(channel) => {
                channel
                    .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = deleted {
            eprintln!("warning: test exchange {exchange} not deleted: {error}");
        }
    }

    let _ = connection.close(200, "test cleanup done".into()).await;
}

// ---------------------------------------------------------------------------------------
// A proxy that can cut the line
// ---------------------------------------------------------------------------------------

/// A TCP proxy on `127.0.0.1:0` in front of a broker, for tests of what a client does
/// when the network fails: [`cut`](CutProxy::cut) resets every open connection in both
/// directions at once, [`refuse`](CutProxy::refuse) turns new ones away as if the broker
/// were gone.
///
/// It runs on the runtime that created it and stops when dropped.
#[derive(Debug)]
pub struct CutProxy {
    addr: SocketAddr,
    url: String,
    shared: Arc<ProxyShared>,
    acceptor: JoinHandle<()>,
}

#[derive(Debug)]
struct ProxyShared {
    target: SocketAddr,
    refusing: AtomicBool,
    forwarded: AtomicUsize,
    refused: AtomicUsize,
    next_link: AtomicU64,
    links: Mutex<HashMap<u64, Link>>,
}

/// One client connection being forwarded: sending on `cut` (or dropping it) resets both
/// sockets; `task` ends once they are closed.
#[derive(Debug)]
struct Link {
    cut: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl CutProxy {
    /// Starts a proxy to the host and port of the AMQP URL `broker_url`.
    ///
    /// # Panics
    ///
    /// When the URL has no usable host and port or no local port can be bound.
    pub async fn start(broker_url: &str) -> CutProxy {
        let (target_host, _) = url_authority(broker_url);
        let target = tokio::net::lookup_host(target_host)
            .await
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| panic!("cannot resolve the broker in {broker_url}"));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();

        let shared = Arc::new(ProxyShared {
            target,
            refusing: AtomicBool::new(false),
            forwarded: AtomicUsize::new(0),
            refused: AtomicUsize::new(0),
            next_link: AtomicU64::new(0),
            links: Mutex::new(HashMap::new()),
        });
        let acceptor = tokio::spawn(accept(listener, shared.clone()));
        CutProxy {
            addr,
            url: with_authority(broker_url, addr),
            shared,
            acceptor,
        }
    }

    /// Where the proxy listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The broker URL with its host and port replaced by the proxy's.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Resets every connection open now, in both directions, and returns once all of
    /// them are closed. Connections made afterwards are forwarded as before.
    pub async fn cut(&self) {
        let links: Vec<Link> = {
            let mut links = self.shared.links.lock().unwrap();
            links.drain().map(|(_, link)| link).collect()
        };
        for link in links {
            let _ = link.cut.send(());
            let _ = link.task.await;
        }
    }

    /// While `refusing` is true, new connections are accepted and reset at once, the
    /// nearest a proxy comes to a broker that is not there. Open connections stay.
    pub fn refuse(&self, refusing: bool) {
        self.shared.refusing.store(refusing, Ordering::SeqCst);
    }

    /// Connections forwarded to the broker so far (refused ones not counted).
    pub fn connections_made(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// Connections turned away while refusing.
    pub fn connections_refused(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// Connections being forwarded now.
    pub fn open_connections(&self) -> usize {
        self.shared.links.lock().unwrap().len()
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        let mut links = self.shared.links.lock().unwrap_or_else(|e| e.into_inner());
        for (_, link) in links.drain() {
            link.task.abort();
        }
    }
}

async fn accept(listener: TcpListener, shared: Arc<ProxyShared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors, say: give the test a moment to free some rather
            // than spin.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if shared.refusing.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            reset(client);
            continue;
        }
        shared.forwarded.fetch_add(1, Ordering::SeqCst);

        // The link is registered under the lock it removes itself under, so a link that
        // ends at once cannot leave a stale entry behind.
        let id = shared.next_link.fetch_add(1, Ordering::SeqCst);
        let (cut, cut_signal) = oneshot::channel();
        let mut links = shared.links.lock().unwrap();
        let task = tokio::spawn(forward(client, cut_signal, shared.clone(), id));
        links.insert(id, Link { cut, task });
    }
}

async fn forward(
    mut client: TcpStream,
    mut cut_signal: oneshot::Receiver<()>,
    shared: Arc<ProxyShared>,
    id: u64,
) {
    let upstream = tokio::select! {
        connected = TcpStream::connect(shared.target) => connected.ok(),
        _ = &mut cut_signal => None,
    };
    if let Some(mut upstream) = upstream {
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        let cut = tokio::select! {
            _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => false,
            _ = &mut cut_signal => true,
        };
        if cut {
            reset(upstream);
        }
    }
    reset(client);
    shared.links.lock().unwrap().remove(&id);
}

/// Closes with a TCP reset rather than an orderly FIN, so that both ends see the failure
/// at once, as they would if the line broke, instead of a polite end of stream.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// The `host:port` part of an AMQP URL (port 5672 or 5671 by default) and the text
/// before it (scheme and user info).
fn url_authority(url: &str) -> (String, &str) {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("not a URL: {url}"));
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let has_port = host_port
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()));
    let with_port = if has_port {
        host_port.to_owned()
    } else {
        let port = if scheme == "amqps" { 5671 } else { 5672 };
        format!("{host_port}:{port}")
    };
    let prefix_len = url.len() - rest.len() + (authority.len() - host_port.len());
    (with_port, &url[..prefix_len])
}

/// `url` with its host and port replaced by `addr`.
fn with_authority(url: &str, addr: SocketAddr) -> String {
    let (_, prefix) = url_authority(url);
    let rest = &url[prefix.len()..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    format!("{prefix}{addr}{}", &rest[end..])
}

// ---------------------------------------------------------------------------------------
// Private RabbitMQ nodes
// ---------------------------------------------------------------------------------------

/// How long a node may take to boot before the test fails. A boot takes about 5 s here;
/// the margin is for parallel test binaries on a busy machine.
const BOOT_TIMEOUT: Duration = Duration::from_secs(90);

/// How long one `rabbitmqctl` command may run.
const CTL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a node gets to stop by itself before its process group is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// The memory watermark of a private node when no alarm is wanted; written into its
/// configuration so that [`PrivateBroker::clear_memory_alarm`] restores the same value.
const MEMORY_WATERMARK: &str = "0.4";

/// The ports `rabbitmqctl` processes listen on by default (`RABBITMQ_CTL_DIST_PORT_MIN`
/// to `_MAX`): other people's CLI calls may hold them at any moment, so a node never
/// gets one of them.
const CLI_PORTS: std::ops::RangeInclusive<u16> = 35672..=35682;

/// A RabbitMQ node of the test's own: its own node name, AMQP port, distribution port,
/// Erlang cookie, data and log folders in a temporary folder, no plugins. Tests that
/// must stop the broker, restart it or raise an alarm use one, never the shared broker.
///
/// Dropping it stops the node (`rabbitmqctl stop`, then SIGKILL to its process group)
/// and removes its folder; that blocks the dropping thread for about 3 s.
///
/// The methods run `rabbitmqctl` (about 0.8 s each) on the blocking pool, so they can
/// be awaited from any runtime flavour.
#[derive(Debug)]
pub struct PrivateBroker {
    node: NodeSetup,
    folder: tempfile::TempDir,
    server: Option<Server>,
    started_in: Duration,
}

/// Everything needed to start the node and to talk to it, cheap to move to a thread.
#[derive(Debug, Clone)]
struct NodeSetup {
    scripts: PathBuf,
    name: String,
    folder: PathBuf,
    amqp_port: u16,
    dist_port: u16,
}

/// A running `rabbitmq-server` under its watchdog shell. Closing `watchdog` (dropping it,
/// or the test process ending) makes the shell kill the node's whole process group.
#[derive(Debug)]
struct Server {
    child: Child,
    watchdog: Option<ChildStdin>,
}

/// What `rabbitmqctl` printed and how it ended (`None`: killed after the timeout).
#[derive(Debug)]
struct CtlOutput {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl CtlOutput {
    fn succeeded(&self) -> bool {
        self.status.is_some_and(|status| status.success())
    }
}

impl PrivateBroker {
    /// Starts a new node and waits until it accepts AMQP connections, or returns `None`
    /// (after printing why) when RabbitMQ is not installed, outside CI.
    ///
    /// # Panics
    ///
    /// When RabbitMQ is missing under `CI=true`, or the node does not boot.
    pub async fn launch() -> Option<PrivateBroker> {
        let scripts = rabbitmq_scripts()?;
        let folder = tempfile::Builder::new()
            .prefix("ferry-rabbit-")
            .tempdir()
            .unwrap();
        let name = format!(
            "ferry-test-{}-{}-{}@localhost",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            run_stamp()
        );
        let (amqp_port, dist_port) = two_free_ports();
        let node = NodeSetup {
            scripts,
            name,
            folder: folder.path().to_owned(),
            amqp_port,
            dist_port,
        };
        node.write_files();

        let mut broker = PrivateBroker {
            node,
            folder,
            server: None,
            started_in: Duration::ZERO,
        };
        broker.boot_first().await;
        Some(broker)
    }

    /// The first boot, retried on new ports when the node dies while booting: a port
    /// found free may be taken by another process before the node binds it.
    async fn boot_first(&mut self) {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            let node = self.node.clone();
            let started = Instant::now();
            let booted = tokio::task::spawn_blocking(move || node.boot())
                .await
                .unwrap();
            match booted {
                Ok(server) => {
                    self.server = Some(server);
                    self.started_in = started.elapsed();
                    return;
                }
                Err(failure) if attempt < ATTEMPTS && failure.exited => {
                    eprintln!("private RabbitMQ node exited while booting, retrying:\n{failure}");
                    let _ = std::fs::remove_dir_all(self.node.folder.join("mnesia"));
                    (self.node.amqp_port, self.node.dist_port) = two_free_ports();
                }
                Err(failure) => panic!("private RabbitMQ node does not boot:\n{failure}"),
            }
        }
    }

    /// `amqp://guest:guest@127.0.0.1:{port}/%2f`. The same after [`stop`](Self::stop)
    /// and [`start`](Self::start), so a client can reconnect to it.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@{}/%2f", self.addr())
    }

    /// The node's AMQP listener.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.node.amqp_port))
    }

    /// The Erlang node name, `ferry-test-{pid}-{n}-{stamp}@localhost`.
    pub fn node_name(&self) -> &str {
        &self.node.name
    }

    /// The temporary folder holding the node's data, logs and cookie.
    pub fn folder(&self) -> &Path {
        self.folder.path()
    }

    /// How long the last boot took, from spawning the server to the node being ready.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// Stops the node cleanly (`rabbitmqctl stop`, so durable queues and persistent
    /// messages are on disk) and waits until its processes are gone.
    pub async fn stop(&mut self) {
        let Some(server) = self.server.take() else {
            return;
        };
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || node.halt(server, STOP_TIMEOUT))
            .await
            .unwrap();
    }

    /// Starts the node again on the same data, name and ports after [`stop`](Self::stop).
    ///
    /// # Panics
    ///
    /// When it is running already or does not boot.
    pub async fn start(&mut self) {
        assert!(
            self.server.is_none(),
            "{} is running already",
            self.node.name
        );
        let node = self.node.clone();
        let started = Instant::now();
        let booted = tokio::task::spawn_blocking(move || node.boot())
            .await
            .unwrap();
        match booted {
            Ok(server) => {
                self.server = Some(server);
                self.started_in = started.elapsed();
            }
            Err(failure) => panic!("private RabbitMQ node does not restart:\n{failure}"),
        }
    }

    /// Sets the memory watermark so low that the node raises its memory alarm. A
    /// connection gets `connection.blocked` (and is no longer read from) when it next
    /// publishes, not before: a client that only consumes is never blocked.
    pub async fn raise_memory_alarm(&self) {
        self.ctl(&["set_vm_memory_high_watermark", "0.000001"])
            .await;
    }

    /// Restores the normal watermark; the alarm clears and blocked connections get
    /// `connection.unblocked`.
    pub async fn clear_memory_alarm(&self) {
        self.ctl(&["set_vm_memory_high_watermark", MEMORY_WATERMARK])
            .await;
    }

    /// Deletes a queue behind the clients' backs (`rabbitmqctl delete_queue`).
    ///
    /// # Panics
    ///
    /// When the queue does not exist.
    pub async fn delete_queue(&self, name: &str) {
        self.ctl(&["delete_queue", name]).await;
    }

    /// Messages in a queue (ready and unacknowledged), or `None` when there is no such
    /// queue.
    pub async fn queue_messages(&self, name: &str) -> Option<u64> {
        let listing = self
            .ctl(&["list_queues", "name", "messages", "--formatter", "json"])
            .await;
        let queues: Value = serde_json::from_str(&listing).expect("list_queues prints JSON");
        queues
            .as_array()?
            .iter()
            .find(|queue| queue["name"] == name)
            .and_then(|queue| queue["messages"].as_u64())
    }

    /// Force-closes every client connection whose `connection_name` client property is
    /// `name` (as set by [`connect`]) and returns how many there were.
    ///
    /// # Panics
    ///
    /// When `name` holds a quote or a backslash, which the listing would escape.
    pub async fn close_connections_named(&self, name: &str) -> usize {
        assert!(
            !name.contains(['"', '\\']),
            "connection names with quotes or backslashes are not supported: {name}"
        );
        // The table listing, not JSON: only it prints the process id in the
        // `<node.creation.id.serial>` form `close_connection` parses back.
        let listing = self
            .ctl(&[
                "list_connections",
                "--no-table-headers",
                "pid",
                "client_properties",
            ])
            .await;
        let wanted = format!("{{\"connection_name\",\"{name}\"}}");
        let pids: Vec<&str> = listing
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter(|(_, properties)| properties.contains(&wanted))
            .map(|(pid, _)| pid)
            .collect();
        for pid in &pids {
            self.ctl(&["close_connection", pid, "closed by the test"])
                .await;
        }
        pids.len()
    }

    /// Runs `rabbitmqctl -n {node} {args}` and returns what it printed on standard output.
    ///
    /// # Panics
    ///
    /// When the command fails or runs longer than a minute.
    pub async fn ctl(&self, args: &[&str]) -> String {
        let node = self.node.clone();
        let owned: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let output = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = owned.iter().map(String::as_str).collect();
            node.ctl(&args, CTL_TIMEOUT)
        })
        .await
        .unwrap();
        assert!(
            output.succeeded(),
            "rabbitmqctl {} failed ({:?})\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "),
            output.status,
            output.stdout,
            output.stderr
        );
        output.stdout
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.node.halt(server, STOP_TIMEOUT);
        }
    }
}

/// The folder holding the real `rabbitmq-server` and `rabbitmqctl` scripts, or `None`
/// (after printing why) when RabbitMQ is not installed, outside CI.
///
/// Debian's `/usr/sbin/rabbitmq-server` is a wrapper that, for root, re-runs the script
/// as the `rabbitmq` user through `su`: that would reset `HOME` (and with it the node's
/// private cookie) and put the node out of reach of our signals, so the scripts it wraps
/// in `/usr/lib/rabbitmq/bin` are preferred. Elsewhere the scripts on the `PATH` are the
/// real ones.
fn rabbitmq_scripts() -> Option<PathBuf> {
    let has_scripts = |folder: &Path| {
        folder.join("rabbitmq-server").is_file() && folder.join("rabbitmqctl").is_file()
    };
    let debian = PathBuf::from("/usr/lib/rabbitmq/bin");
    if has_scripts(&debian) {
        return Some(debian);
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find(|folder| has_scripts(folder)));
    on_path.or_else(|| missing("no rabbitmq-server and rabbitmqctl on the PATH"))
}

/// Two distinct free loopback ports outside [`CLI_PORTS`]. Both listeners are held until
/// both are chosen so that the two ports differ.
fn two_free_ports() -> (u16, u16) {
    let mut held = Vec::new();
    while held.len() < 2 {
        let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if !CLI_PORTS.contains(&port) {
            held.push(listener);
        }
    }
    let port = |listener: &StdTcpListener| listener.local_addr().unwrap().port();
    (port(&held[0]), port(&held[1]))
}

/// Why a boot failed: what the node printed, and whether its process ended (a port
/// taken, say), which a retry on other ports may cure.
#[derive(Debug)]
struct BootFailure {
    exited: bool,
    report: String,
}

impl std::fmt::Display for BootFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.report)
    }
}

/// The watchdog shell around `rabbitmq-server` (`$0`): it starts the server in the
/// background and exits with its status, while a subshell waits for the end of standard
/// input and then kills the process group. Standard input is a pipe only the test
/// process writes to, so it ends when the test drops the broker or dies in any way.
const WATCHDOG: &str = r#"exec 3<&0
"$0" </dev/null 3<&- &
server=$!
( read -r line <&3; kill -9 0 ) </dev/null &
exec 3<&-
wait "$server""#;

impl NodeSetup {
    fn pid_file(&self) -> PathBuf {
        self.folder.join("rabbit.pid")
    }

    fn server_output(&self) -> PathBuf {
        self.folder.join("server.out")
    }

    /// Writes the cookie, the configuration and the (empty) plugin list, so that nothing
    /// is read from `/etc/rabbitmq`: its `rabbitmq.conf` would make the node bind the
    /// shared broker's port 5672, and its `rabbitmq-env.conf` would name it `rabbit`.
    fn write_files(&self) {
        let keys = RandomState::new();
        let cookie = format!(
            "FERRY{:016X}{:016X}",
            keys.hash_one(&self.name),
            keys.hash_one(std::process::id())
        );
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o400)
            .open(self.folder.join(".erlang.cookie"))
            .and_then(|mut file| file.write_all(cookie.as_bytes()))
            .unwrap();
        let config = format!(
            "# A private test node: loopback only (environment), no plugins.\n\
             vm_memory_high_watermark.relative = {MEMORY_WATERMARK}\n\
             # Low, so that a nearly full CI disk does not block publishers.\n\
             disk_free_limit.absolute = 1MB\n"
        );
        std::fs::write(self.folder.join("rabbitmq.conf"), config).unwrap();
        std::fs::write(self.folder.join("enabled_plugins"), "[].\n").unwrap();
        std::fs::write(self.folder.join("rabbitmq-env.conf"), "").unwrap();
    }

    /// The environment `rabbitmq-server` and `rabbitmqctl` share: the folder as `HOME` (so
    /// both read the node's own cookie) and an empty env file instead of the system one.
    fn common_env(&self, command: &mut Command) {
        command
            .env("HOME", &self.folder)
            .env(
                "RABBITMQ_CONF_ENV_FILE",
                self.folder.join("rabbitmq-env.conf"),
            )
            .env("ERL_EPMD_ADDRESS", "127.0.0.1")
            .env_remove("RABBITMQ_NODENAME");
    }

    fn server_command(&self) -> Command {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(WATCHDOG)
            .arg(self.scripts.join("rabbitmq-server"));
        self.common_env(&mut command);
        command
            .env("RABBITMQ_NODENAME", &self.name)
            .env("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1")
            .env("RABBITMQ_NODE_PORT", self.amqp_port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", self.folder.join("mnesia"))
            .env("RABBITMQ_LOG_BASE", self.folder.join("log"))
            .env("RABBITMQ_PID_FILE", self.pid_file())
            .env("RABBITMQ_CONFIG_FILE", self.folder.join("rabbitmq.conf"))
            .env(
                "RABBITMQ_ADVANCED_CONFIG_FILE",
                self.folder.join("advanced.config"),
            )
            .env(
                "RABBITMQ_ENABLED_PLUGINS_FILE",
                self.folder.join("enabled_plugins"),
            )
            // Erlang distribution on loopback only, like the AMQP listener.
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "-kernel inet_dist_use_interface {127,0,0,1}",
            )
            // Either would make the script replace itself with the VM and skip its signal
            // handling; the node must stay an ordinary background job of the watchdog.
            .env_remove("NOTIFY_SOCKET")
            .env_remove("RABBITMQ_ALLOW_INPUT");
        // Its own process group: the watchdog kills exactly the node's processes, and a
        // Ctrl-C meant for `cargo test` reaches the node only through the watchdog.
        command.process_group(0);
        command
    }

    /// Starts the server and waits until `rabbitmqctl wait` reports the node running.
    ///
    /// `rabbitmqctl wait <pid file>` is used rather than `await_startup`, which gives up
    /// at once while the new node has not yet registered with epmd.
    fn boot(&self) -> Result<Server, BootFailure> {
        let _ = std::fs::remove_file(self.pid_file());
        let output = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.server_output())
            .unwrap();
        let mut child = self
            .server_command()
            .stdin(Stdio::piped())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap_or_else(|error| panic!("rabbitmq-server does not start: {error}"));
        let server = Server {
            watchdog: child.stdin.take(),
            child,
        };

        let pid_file = self.pid_file().display().to_string();
        let timeout = BOOT_TIMEOUT.as_secs().to_string();
        let waited = self.ctl(&["wait", &pid_file, "--timeout", &timeout], BOOT_TIMEOUT);
        if waited.succeeded() {
            return Ok(server);
        }

        let mut server = server;
        let exited = server.child.try_wait().ok().flatten().is_some();
        let report = format!(
            "node {} on 127.0.0.1:{} (distribution port {}), rabbitmqctl wait: {:?}\n\
             {}{}\n--- rabbitmq-server output (last lines)\n{}",
            self.name,
            self.amqp_port,
            self.dist_port,
            waited.status,
            waited.stdout,
            waited.stderr,
            last_lines(&self.server_output(), 40)
        );
        self.halt(server, Duration::from_secs(5));
        Err(BootFailure { exited, report })
    }

    /// Stops the node with `rabbitmqctl stop`, gives it `timeout` to exit, then kills
    /// whatever is left of its process group.
    fn halt(&self, mut server: Server, timeout: Duration) {
        let running = server.child.try_wait().ok().flatten().is_none();
        if running {
            let _ = self.ctl(&["stop"], timeout);
            let _ = wait_for_exit(&mut server.child, timeout);
        }

        // The watchdog shell (the group leader) is not reaped yet, so its id cannot have
        // been reused by another group.
        if let Some(group) = i32::try_from(server.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        drop(server.watchdog.take());
        let _ = server.child.wait();
    }

    /// Runs `rabbitmqctl -n {node} {args}`, killing it after `timeout`.
    ///
    /// The CLI runs with `-dist_listen false`: it only connects out, so parallel calls do
    /// not compete for the eleven ports its distribution would otherwise listen on.
    fn ctl(&self, args: &[&str], timeout: Duration) -> CtlOutput {
        // Files, not pipes: a long listing cannot fill a pipe and stall the command.
        let mut stdout = tempfile::tempfile().unwrap();
        let mut stderr = tempfile::tempfile().unwrap();
        let mut command = Command::new(self.scripts.join("rabbitmqctl"));
        self.common_env(&mut command);
        let spawned = command
            .env("RABBITMQ_CTL_ERL_ARGS", "-dist_listen false")
            .arg("-q")
            .arg("-n")
            .arg(&self.name)
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout.try_clone().unwrap())
            .stderr(stderr.try_clone().unwrap())
            .spawn();
        let status = match spawned {
            Ok(mut child) => {
                let status = wait_for_exit(&mut child, timeout);
                if status.is_none() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                status
            }
            Err(error) => panic!("rabbitmqctl does not start: {error}"),
        };
        CtlOutput {
            status,
            stdout: read_all(&mut stdout),
            stderr: read_all(&mut stderr),
        }
    }
}

fn wait_for_exit(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_all(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    text
}

fn last_lines(path: &Path, count: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
