//! Helpers shared by the store's integration tests.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;

use ferry_message::{ContentKind, ItemName, MessageId, NewBody};
use ferry_store::{
    Disposition, Durability, EventKind, EventLevel, InboundRecord, Lease, NewEvent, Outcome,
    Output, OutputBody, SearchValue, SledStore, Step, Store, StoreConfig,
};

/// A store in `dir/store` with the given durability.
pub fn open_with(dir: &Path, durability: Durability) -> SledStore {
    let mut config = StoreConfig::new(dir.join("store"));
    config.durability = durability;
    config.cache_capacity = 16 * 1024 * 1024;
    SledStore::open(config).expect("open store").0
}

/// A store that leaves syncing to the OS (fast; for tests that do not test the barrier).
pub fn open(dir: &Path) -> SledStore {
    open_with(dir, Durability::Os)
}

/// An ADT^A01 with MSH-10 = `control_id`, about 1 KiB.
pub fn hl7(control_id: &str) -> NewBody {
    let text = format!(
        "MSH|^~\\&|EPIC|HOSP|FERRY|HOSP|20240101120000||ADT^A01|{control_id}|P|2.5\r\
         EVN|A01|20240101120000\r\
         PID|1||{control_id}^^^HOSP^MR||DOE^JOHN^Q||19700101|M|||1 MAIN ST^^TOWN^ST^12345\r\
         PV1|1|I|WARD^101^A|||||||MED||||||||{control_id}\r{}",
        "NTE|1||padding to make a realistic message size\r".repeat(18)
    );
    NewBody {
        kind: ContentKind::Hl7v2,
        charset: Some("UTF-8".to_owned()),
        bytes: text.into_bytes().into(),
    }
}

/// A record from `source` for `targets`, indexed by MSH-10.
pub fn record(source: &str, targets: &[&str], control_id: &str) -> InboundRecord {
    InboundRecord {
        source: source.into(),
        body: hl7(control_id),
        doc_type: Some("ADT^A01".to_owned()),
        search: vec![msh10(control_id)],
        duplicate_key: None,
        discard_duplicate: false,
        skip_redelivery: false,
        disposition: Disposition::Enqueue {
            targets: targets.iter().map(|t| ItemName::from(*t)).collect(),
        },
    }
}

/// A search value for MSH-10.
pub fn msh10(value: &str) -> SearchValue {
    SearchValue {
        field: "MSH-10".to_owned(),
        value: value.to_owned(),
    }
}

/// Accepts one record and returns its header ids.
pub fn accept(
    store: &SledStore,
    source: &str,
    targets: &[&str],
    control_id: &str,
) -> Vec<MessageId> {
    let accepted = store
        .accept(vec![record(source, targets, control_id)], Vec::new())
        .expect("accept");
    accepted[0].headers.clone()
}

/// An info event about `text`.
pub fn event(text: &str) -> NewEvent {
    NewEvent {
        level: EventLevel::Info,
        kind: EventKind::Started,
        item: None,
        message: None,
        actor: None,
        text: text.to_owned(),
    }
}

/// A step finishing `lease` as Completed with one output per target sharing its body.
pub fn step(lease: Lease, targets: &[&str]) -> Step {
    Step {
        lease,
        outcome: Outcome::Completed,
        response: None,
        outputs: targets
            .iter()
            .map(|target| Output {
                target: (*target).into(),
                body: OutputBody::Same,
                doc_type: Some("ADT^A01".to_owned()),
                search: Vec::new(),
            })
            .collect(),
        events: Vec::new(),
    }
}

/// Takes the head of `item` or fails the test.
pub fn take(store: &SledStore, item: &str) -> Lease {
    store
        .take(&item.into())
        .expect("take")
        .unwrap_or_else(|| panic!("queue {item} is empty"))
}

/// Takes everything from `item`, returning the message ids in order, completing each.
pub fn drain(store: &SledStore, item: &str) -> Vec<MessageId> {
    let mut ids = Vec::new();
    while let Some(lease) = store.take(&item.into()).expect("take") {
        ids.push(lease.header.id);
        store.complete(&step(lease, &[])).expect("complete");
    }
    ids
}
