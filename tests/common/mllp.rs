//! MLLP test peers on loopback: a fake sender that writes raw bytes and reads framed
//! replies, and a fake receiver that records what arrives and answers as a test says.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use ferry_mllp::{Framed, MllpCodec, frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Decoder;

/// A connection that writes bytes as a test chooses and reads MLLP replies.
pub struct Sender {
    pub stream: TcpStream,
    codec: MllpCodec,
    buffer: BytesMut,
}

impl Sender {
    pub async fn connect(addr: SocketAddr) -> Sender {
        let stream = TcpStream::connect(addr).await.expect("connects");
        stream.set_nodelay(true).unwrap();
        Sender {
            stream,
            codec: MllpCodec::new(64 << 20),
            buffer: BytesMut::new(),
        }
    }

    /// Writes raw bytes (no framing added).
    pub async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Writes one framed message.
    pub async fn send(&mut self, message: &[u8]) {
        self.write(&frame(message)).await;
    }

    /// The next framed reply, or `None` when the connection ends or `timeout` passes.
    pub async fn reply(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(Framed::Message(message)) = self.codec.decode(&mut self.buffer).unwrap() {
                return Some(message.to_vec());
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buffer));
            match read.await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
                Ok(Ok(_)) => {}
            }
        }
    }

    /// Sends a message and returns its reply (30 s at most).
    pub async fn exchange(&mut self, message: &[u8]) -> Vec<u8> {
        self.send(message).await;
        self.reply(Duration::from_secs(30))
            .await
            .expect("a reply within 30 s")
    }
}

/// How the fake receiver answers one message: after a delay, with these bytes (framed),
/// or not at all.
pub type Answer = Option<(Duration, Vec<u8>)>;

/// A receiver on 127.0.0.1 that records every message and answers through `respond`.
pub struct Receiver {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Vec<u8>>>>,
    pub connections: Arc<Mutex<usize>>,
    task: tokio::task::JoinHandle<()>,
}

type Respond = Arc<dyn Fn(&[u8]) -> Answer + Send + Sync>;

impl Receiver {
    /// Listens on a free port; `respond` decides each answer.
    pub async fn start(respond: impl Fn(&[u8]) -> Answer + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::on(listener, Arc::new(respond))
    }

    /// Listens on `addr` (a port a test chose earlier, to start the receiver late).
    pub async fn start_at(
        addr: SocketAddr,
        respond: impl Fn(&[u8]) -> Answer + Send + Sync + 'static,
    ) -> Receiver {
        let listener = TcpListener::bind(addr).await.unwrap();
        Receiver::on(listener, Arc::new(respond))
    }

    /// A receiver that answers AA to everything at once.
    pub async fn acking() -> Receiver {
        Receiver::start(|message| Some((Duration::ZERO, ack(message, "AA")))).await
    }

    /// A receiver that answers `code` to the message with MSH-10 `id` and AA to the rest.
    pub async fn answering(id: &'static str, code: &'static str) -> Receiver {
        Receiver::start(move |message| {
            let code = if control_id(message) == id {
                code
            } else {
                "AA"
            };
            Some((Duration::ZERO, ack(message, code)))
        })
        .await
    }

    fn on(listener: TcpListener, respond: Respond) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let (log, count) = (received.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                *count.lock().unwrap() += 1;
                tokio::spawn(serve(stream, log.clone(), respond.clone()));
            }
        });
        Receiver {
            addr,
            received,
            connections,
            task,
        }
    }

    /// Every message received so far, in arrival order.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.received.lock().unwrap().clone()
    }

    /// MSH-10 of every message received so far.
    pub fn control_ids(&self) -> Vec<String> {
        self.messages().iter().map(|m| control_id(m)).collect()
    }

    /// Stops listening (open connections stay until their peer closes them).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, log: Arc<Mutex<Vec<Vec<u8>>>>, respond: Respond) {
    let mut codec = MllpCodec::new(256 << 20);
    let mut buffer = BytesMut::new();
    loop {
        while let Ok(Some(item)) = codec.decode(&mut buffer) {
            let Framed::Message(message) = item else {
                continue;
            };
            log.lock().unwrap().push(message.to_vec());
            if let Some((delay, answer)) = respond(&message) {
                tokio::time::sleep(delay).await;
                if stream.write_all(&frame(&answer)).await.is_err() {
                    return;
                }
            }
        }
        match stream.read_buf(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// MSH-10 of a message (default delimiters).
pub fn control_id(message: &[u8]) -> String {
    let header = ferry_hl7::scan_header(message).expect("an HL7 message");
    header.control_id().into_owned()
}

/// An ACK with `code` for `message`, as a receiving system would write it.
pub fn ack(message: &[u8], code: &str) -> Vec<u8> {
    let id = control_id(message);
    format!(
        "MSH|^~\\&|RECVAPP|RECVFAC|FERRY|HUB|20240101120001||ACK^A01^ACK|R{id}|P|2.5.1\r\
         MSA|{code}|{id}\r"
    )
    .into_bytes()
}

/// The reply's MSA-1 and MSA-2.
pub fn msa(reply: &[u8]) -> (String, String) {
    let ack = ferry_hl7::read_ack(reply).expect("an ACK");
    (ack.code.as_str().to_owned(), ack.control_id)
}
