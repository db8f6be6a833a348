//! The gRPC admin API of a real `ferry run`, used the way a monitoring script would: an
//! MLLP service feeds a file operation that starts disabled, so messages wait in its
//! queue while the test looks at them, acts on them, and watches the engine react.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::admin::{ADMIN_SECTION, AdminFerry, TEST_TOKEN};
use common::binary::listening_addr;
use common::hl7::m;
use common::mllp::{Sender, msa};
use ferry_admin_proto::v1 as pb;
use ferry_admin_proto::v1::admin_client::AdminClient;
use ferry_admin_proto::v1::watch_events_response::Change;
use tokio_stream::StreamExt;
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

const WAIT: Duration = Duration::from_secs(30);

type Client = AdminClient<InterceptedService<Channel, Authorization>>;

#[derive(Clone)]
struct Authorization(Option<AsciiMetadataValue>);

impl tonic::service::Interceptor for Authorization {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// MLLP `In` → file operation `Out`, which starts disabled; `admin` is the admin section.
fn production(admin: &str) -> String {
    format!(
        "production: admin-grpc\n\
         store: {{ path: \"${{DIR}}/data\" }}\n\
         {admin}\
         items:\n  \
           - name: In\n    service: mllp\n    targets: [Out]\n    \
             settings: {{ listen: \"127.0.0.1:0\" }}\n  \
           - name: Out\n    operation: file\n    enabled: false\n    \
             settings: {{ path: \"${{DIR}}/out\" }}\n"
    )
}

fn start(dir: &Path, admin: &str) -> AdminFerry {
    let file = dir.join("production.yaml");
    std::fs::write(&file, production(admin)).unwrap();
    AdminFerry::start(&file, &[("DIR", dir)])
}

async fn channel(ferry: &AdminFerry) -> Channel {
    Channel::from_shared(format!("http://{}", ferry.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

async fn client(ferry: &AdminFerry, authorization: Option<&str>) -> Client {
    let value = authorization.map(|value| value.parse().unwrap());
    AdminClient::with_interceptor(channel(ferry).await, Authorization(value))
}

fn bearer() -> String {
    format!("Bearer {TEST_TOKEN}")
}

async fn send(addr: std::net::SocketAddr, count: u32) {
    let mut sender = Sender::connect(addr).await;
    for n in 1..=count {
        let reply = sender.exchange(&m(n)).await;
        assert_eq!(msa(&reply).0, "AA");
    }
}

async fn search(client: &mut Client, request: pb::SearchMessagesRequest) -> Vec<pb::MessageHeader> {
    client
        .search_messages(request)
        .await
        .unwrap()
        .into_inner()
        .messages
}

fn by_field(field: &str, value: &str) -> pb::SearchMessagesRequest {
    pb::SearchMessagesRequest {
        field: field.to_owned(),
        value: value.to_owned(),
        ..Default::default()
    }
}

async fn out_item(client: &mut Client) -> pb::Item {
    let production = client
        .get_production(pb::GetProductionRequest {})
        .await
        .unwrap()
        .into_inner();
    production
        .items
        .into_iter()
        .find(|item| item.name == "Out")
        .unwrap()
}

/// Reads live changes until `wanted` holds for one of them, or fails after [`WAIT`].
async fn watch_for(
    stream: &mut tonic::Streaming<pb::WatchEventsResponse>,
    what: &str,
    wanted: impl Fn(&Change) -> bool,
) {
    let found = tokio::time::timeout(WAIT, async {
        while let Some(change) = stream.next().await {
            if change.unwrap().change.as_ref().is_some_and(&wanted) {
                return;
            }
        }
        panic!("the watch ended before {what}");
    })
    .await;
    assert!(found.is_ok(), "no {what} within {WAIT:?}");
}

#[test]
fn the_admin_api_shows_and_steers_a_running_production() {
    let dir = tempfile::tempdir().unwrap();
    let mut ferry = start(dir.path(), ADMIN_SECTION);
    let mllp = listening_addr(&mut ferry.ferry, "In", WAIT);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut client = client(&ferry, Some(&bearer())).await;
        let mut watch = client
            .watch_events(pb::WatchEventsRequest {})
            .await
            .unwrap()
            .into_inner();

        send(mllp, 3).await;
        status_and_queues(&mut client).await;
        watch_for(
            &mut watch,
            "a queue depth of 3 for Out",
            |change| matches!(change, Change::QueueDepth(q) if q.item == "Out" && q.depth == 3),
        )
        .await;

        let ids = searches(&mut client).await;
        message_detail(&mut client, ids[1]).await;
        actions(&mut client, &ids).await;
        watch_for(&mut watch, "an admin event by `token`", |change| {
            matches!(change, Change::Logged(e) if e.kind == pb::EventKind::Admin as i32
                && e.actor == "token")
        })
        .await;

        deliveries_and_trace(&mut client, &ids).await;
        event_log(&mut client).await;
        refusals(&ferry, &mut client).await;
        health_and_reflection(&ferry).await;
    });
    ferry.ferry.stop();
}

async fn status_and_queues(client: &mut Client) {
    let production = client
        .get_production(pb::GetProductionRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(production.name, "admin-grpc");
    assert!(
        production.file.ends_with("production.yaml"),
        "{}",
        production.file
    );
    assert!(production.started.is_some());

    let service = &production.items[0];
    assert_eq!(service.name, "In");
    assert_eq!(service.role, pb::Role::Service as i32);
    assert_eq!(service.kind, "mllp");
    assert_eq!(service.targets, ["Out"]);
    assert!(service.listening.starts_with("127.0.0.1:"), "{service:?}");
    assert_eq!(service.counts.unwrap().received, 3);

    let out = &production.items[1];
    assert_eq!(
        (out.role, out.kind.as_str()),
        (pb::Role::Operation as i32, "file")
    );
    assert!(!out.enabled);
    assert_eq!(out.queue_depth, 3);
    assert!(out.oldest_queued.is_some() && out.oldest_queued_age.is_some());

    let queues = client
        .list_queues(pb::ListQueuesRequest {})
        .await
        .unwrap()
        .into_inner()
        .queues;
    assert_eq!(queues.len(), 1, "only Out has a queue: {queues:?}");
    assert_eq!((queues[0].item.as_str(), queues[0].depth), ("Out", 3));
    assert!(queues[0].oldest_queued_age.is_some());
}

/// Finds the three messages by MSH-10, PID-3.1 and pages; returns their ids, oldest first.
async fn searches(client: &mut Client) -> Vec<u64> {
    let found = search(client, by_field("MSH-10", "MSG0002")).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0].source.as_str(), found[0].target.as_str()),
        ("In", "Out")
    );
    assert_eq!(found[0].status, pb::Status::Queued as i32);
    assert_eq!(found[0].doc_type, "ADT^A01");

    let found = search(client, by_field("PID-3.1", "TEST0003")).await;
    assert_eq!(found.len(), 1, "{found:?}");

    let first = client
        .search_messages(pb::SearchMessagesRequest {
            target: "Out".to_owned(),
            status: pb::Status::Queued as i32,
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.messages.len(), 2);
    let next = first.next_before.expect("a second page");
    let second = client
        .search_messages(pb::SearchMessagesRequest {
            target: "Out".to_owned(),
            before: Some(next),
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.messages.len(), 1);
    assert_eq!(second.next_before, None);

    let mut ids: Vec<u64> = first
        .messages
        .iter()
        .chain(&second.messages)
        .map(|h| h.id)
        .collect();
    ids.sort_unstable();
    ids
}

async fn message_detail(client: &mut Client, id: u64) {
    let message = client
        .get_message(pb::GetMessageRequest { id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(message.header.unwrap().id, id);
    let body = message.body.unwrap();
    assert_eq!(body.bytes, m(2));
    assert_eq!(body.kind, pb::ContentKind::Hl7v2 as i32);
    let msh10 = message
        .fields
        .iter()
        .find(|field| field.field == "MSH-10")
        .unwrap();
    assert_eq!(msh10.value, "MSG0002");
}

/// Suspends the second message, discards the third, resends the suspended one; each
/// answer is per id, and an unknown id fails alone.
async fn actions(client: &mut Client, ids: &[u64]) {
    let unknown = ids[2] + 1_000_000;
    let results = client
        .suspend_messages(pb::MessagesRequest {
            ids: vec![ids[1], unknown],
        })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(results[0].ok, "{results:?}");
    assert!(!results[1].ok);
    assert_eq!(results[1].code, Code::NotFound as i32);
    assert!(
        results[1].error.contains(&unknown.to_string()),
        "{}",
        results[1].error
    );

    let again = client
        .suspend_messages(pb::MessagesRequest { ids: vec![ids[1]] })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(again[0].code, Code::FailedPrecondition as i32, "{again:?}");

    let discarded = client
        .discard_messages(pb::MessagesRequest { ids: vec![ids[2]] })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(discarded[0].ok, "{discarded:?}");

    let resent = client
        .resend_messages(pb::MessagesRequest { ids: vec![ids[1]] })
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(resent[0].ok && resent[0].resent_as.is_some(), "{resent:?}");

    let out = client
        .enable_item(pb::ItemRequest {
            item: "Out".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .item
        .unwrap();
    assert!(out.enabled);
}

/// With Out enabled, the first message and the resent copy are delivered; the trace of
/// the resent message's session shows the original, then the copy pointing back at it.
async fn deliveries_and_trace(client: &mut Client, ids: &[u64]) {
    let completed = pb::SearchMessagesRequest {
        status: pb::Status::Completed as i32,
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while search(client, completed.clone()).await.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "two deliveries");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(out_item(client).await.queue_depth, 0);

    let original = search(client, by_field("MSH-10", "MSG0002")).await;
    let session = original.iter().find(|h| h.id == ids[1]).unwrap().session;
    let hops = client
        .get_trace(pb::GetTraceRequest { session })
        .await
        .unwrap()
        .into_inner()
        .hops;
    assert_eq!(hops.len(), 2, "{hops:?}");
    assert_eq!(
        (hops[0].id, hops[0].status),
        (ids[1], pb::Status::Suspended as i32)
    );
    assert_eq!(hops[1].resend_of, Some(ids[1]));
    assert_eq!(hops[1].status, pb::Status::Completed as i32);
    assert!(hops[1].created.is_some() && hops[1].updated.is_some());
}

/// The admin actions are in the log with their actor, and the log pages both ways.
async fn event_log(client: &mut Client) {
    let newest = client
        .list_events(pb::ListEventsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .events;
    let admin: Vec<&pb::Event> = newest
        .iter()
        .filter(|event| event.kind == pb::EventKind::Admin as i32)
        .collect();
    assert!(
        admin.len() >= 4,
        "suspend, discard, resend, enable: {admin:?}"
    );
    assert!(
        admin.iter().all(|event| event.actor == "token"),
        "{admin:?}"
    );
    assert!(
        newest.windows(2).all(|pair| pair[0].id > pair[1].id),
        "newest first"
    );

    let back = client
        .list_events(pb::ListEventsRequest {
            before: Some(newest[1].id),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(back[0].id, newest[2].id);
    let forward = client
        .list_events(pb::ListEventsRequest {
            after: Some(newest[2].id),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(forward[0].id, newest[1].id);
}

async fn refusals(ferry: &AdminFerry, client: &mut Client) {
    for authorization in [None, Some("Bearer wrong-token"), Some("Digest x")] {
        let mut stranger = self::client(ferry, authorization).await;
        let refused = stranger
            .get_production(pb::GetProductionRequest {})
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated, "{authorization:?}");
    }

    let unknown = client
        .get_message(pb::GetMessageRequest { id: u64::MAX })
        .await;
    assert_eq!(unknown.unwrap_err().code(), Code::NotFound);
    let unknown = client
        .get_trace(pb::GetTraceRequest { session: u64::MAX })
        .await;
    assert_eq!(unknown.unwrap_err().code(), Code::NotFound);
    let unknown = client
        .disable_item(pb::ItemRequest {
            item: "Nope".to_owned(),
        })
        .await;
    assert_eq!(unknown.unwrap_err().code(), Code::NotFound);

    let backwards = pb::SearchMessagesRequest {
        from: Some(prost_types::Timestamp {
            seconds: 2_000_000_000,
            nanos: 0,
        }),
        to: Some(prost_types::Timestamp {
            seconds: 1_000_000_000,
            nanos: 0,
        }),
        ..Default::default()
    };
    let refused = client.search_messages(backwards).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);

    // A field the production does not index would always find nothing: say so instead.
    let unindexed = pb::SearchMessagesRequest {
        field: "PID-5".to_owned(),
        value: "KELLER".to_owned(),
        ..Default::default()
    };
    let refused = client.search_messages(unindexed).await.unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("`PID-5` is not indexed"),
        "{refused:?}"
    );
}

async fn health_and_reflection(ferry: &AdminFerry) {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let mut health = HealthClient::new(channel(ferry).await);
    let answer = health
        .check(HealthCheckRequest {
            service: "ferry.admin.v1.Admin".to_owned(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.status, ServingStatus::Serving as i32);

    assert!(
        reflection_v1(ferry)
            .await
            .contains(&"ferry.admin.v1.Admin".to_owned())
    );
    assert!(
        reflection_v1alpha(ferry)
            .await
            .contains(&"ferry.admin.v1.Admin".to_owned())
    );
}

async fn reflection_v1(ferry: &AdminFerry) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut client = ServerReflectionClient::new(channel(ferry).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    match answers.next().await.unwrap().unwrap().message_response {
        Some(MessageResponse::ListServicesResponse(list)) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect(),
        other => panic!("not a service list: {other:?}"),
    }
}

async fn reflection_v1alpha(ferry: &AdminFerry) -> Vec<String> {
    use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

    let mut client = ServerReflectionClient::new(channel(ferry).await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = client
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    match answers.next().await.unwrap().unwrap().message_response {
        Some(MessageResponse::ListServicesResponse(list)) => list
            .service
            .into_iter()
            .map(|service| service.name)
            .collect(),
        other => panic!("not a service list: {other:?}"),
    }
}

/// A user of the credentials file signs in with Basic auth, and the log names them. The
/// clients' connections stay open while Ferry stops (their runtime no longer runs), so the
/// stop also shows that idle clients cannot hold a production up past the shutdown grace.
#[test]
fn named_users_sign_in_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let hash = ferry_admin::hash_password("correct horse").unwrap();
    std::fs::write(dir.path().join("users"), format!("alice:{hash}\n")).unwrap();
    let admin = "admin: {http: '127.0.0.1:0', grpc: '127.0.0.1:0', users: '${DIR}/users'}\n";
    let ferry = start(dir.path(), admin);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let basic = |pair: &str| {
            use base64::Engine as _;
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        };
        let mut alice = client(&ferry, Some(&basic("alice:correct horse"))).await;
        alice
            .disable_item(pb::ItemRequest {
                item: "In".to_owned(),
            })
            .await
            .unwrap();
        let events = alice
            .list_events(pb::ListEventsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .events;
        let disabled = events.iter().find(|e| e.text.contains("disabled")).unwrap();
        assert_eq!(
            (disabled.actor.as_str(), disabled.item.as_str()),
            ("alice", "In")
        );

        let mut guesser = client(&ferry, Some(&basic("alice:wrong"))).await;
        let refused = guesser.get_production(pb::GetProductionRequest {}).await;
        assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
    });
    ferry.ferry.stop();
}
