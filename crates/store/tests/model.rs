//! Random sequences of steps, restarts and admin actions keep the store's invariants:
//! every message is in exactly one of its queue, its leases, or a held/final state; the
//! depth counters equal a rescan; the status index agrees with the headers.

#![allow(clippy::unwrap_used)] // Tests may unwrap, helpers included.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{open, record, step};
use ferry_message::{MessageId, Status};
use ferry_store::{Durability, Lease, Outcome, Query, SledStore, Store, StoreConfig, StoreError};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

const ITEMS: [&str; 3] = ["a", "b", "c"];

#[derive(Debug, Clone)]
enum Op {
    Accept(Vec<usize>),
    Take(usize),
    Complete {
        lease: usize,
        outcome: u8,
        outputs: Vec<usize>,
    },
    Release(usize),
    Attempt(usize),
    Suspend(usize),
    Discard(usize),
    Resend(usize),
    Purge,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let item = 0..ITEMS.len();
    prop_oneof![
        4 => prop::collection::vec(item.clone(), 0..3).prop_map(Op::Accept),
        4 => item.clone().prop_map(Op::Take),
        3 => (any::<usize>(), 0..4u8, prop::collection::vec(item, 0..3))
            .prop_map(|(lease, outcome, outputs)| Op::Complete { lease, outcome, outputs }),
        1 => any::<usize>().prop_map(Op::Release),
        1 => any::<usize>().prop_map(Op::Attempt),
        1 => any::<usize>().prop_map(Op::Suspend),
        1 => any::<usize>().prop_map(Op::Discard),
        1 => any::<usize>().prop_map(Op::Resend),
        1 => Just(Op::Purge),
        1 => Just(Op::Reopen),
    ]
}

struct Model {
    store: Option<SledStore>,
    leases: Vec<Lease>,
    messages: Vec<MessageId>,
    accepted: usize,
}

impl Model {
    fn store(&self) -> &SledStore {
        self.store.as_ref().unwrap()
    }

    fn apply(&mut self, op: Op, dir: &Path) {
        match op {
            Op::Accept(targets) => {
                let targets: Vec<&str> = targets.into_iter().map(|t| ITEMS[t]).collect();
                self.accepted += 1;
                let rec = record("in", &targets, &format!("M{}", self.accepted));
                let accepted = self.store().accept(vec![rec], Vec::new()).unwrap();
                self.messages.extend(&accepted[0].headers);
            }
            Op::Take(item) => {
                if let Some(lease) = self.store().take(&ITEMS[item].into()).unwrap() {
                    self.leases.push(lease);
                }
            }
            Op::Complete {
                lease,
                outcome,
                outputs,
            } => {
                let Some(lease) = self.pick_lease(lease) else {
                    return;
                };
                let targets: Vec<&str> = outputs.into_iter().map(|t| ITEMS[t]).collect();
                let mut s = step(lease, &targets);
                s.outcome = match outcome {
                    0 => Outcome::Completed,
                    1 => Outcome::Error("e".into()),
                    2 => Outcome::Suspended("s".into()),
                    _ => Outcome::Discarded("d".into()),
                };
                self.messages
                    .extend(self.store().complete(&s).unwrap().outputs);
            }
            Op::Release(lease) => {
                let Some(lease) = self.pick_lease(lease) else {
                    return;
                };
                self.store().release(lease).unwrap();
            }
            Op::Attempt(lease) => {
                if self.leases.is_empty() {
                    return;
                }
                let n = lease % self.leases.len();
                let store = self.store.as_ref().unwrap();
                store
                    .record_attempt(&mut self.leases[n], "retry", None)
                    .unwrap();
            }
            Op::Suspend(pick) => self.admin(pick, |s, id| s.suspend(id, "prop").map(|_| ())),
            Op::Discard(pick) => self.admin(pick, |s, id| s.discard(id, "prop").map(|_| ())),
            Op::Resend(pick) => self.admin(pick, |s, id| s.resend(id, "prop").map(|_| ())),
            Op::Purge => {
                self.store()
                    .purge(Timestamp::now() + SignedDuration::from_hours(1))
                    .unwrap();
            }
            Op::Reopen => {
                drop(self.store.take());
                let mut config = StoreConfig::new(dir.join("store"));
                config.durability = Durability::Os;
                let (store, report) = SledStore::open(config).unwrap();
                let returned: u64 = report.returned.iter().map(|(_, n)| n).sum();
                assert_eq!(returned, self.leases.len() as u64);
                self.store = Some(store);
                self.leases.clear();
            }
        }
    }

    fn pick_lease(&mut self, pick: usize) -> Option<Lease> {
        if self.leases.is_empty() {
            return None;
        }
        let n = pick % self.leases.len();
        Some(self.leases.swap_remove(n))
    }

    /// An admin action on some message: it either applies or refuses with a state error.
    fn admin(
        &mut self,
        pick: usize,
        action: impl Fn(&SledStore, MessageId) -> Result<(), StoreError>,
    ) {
        if self.messages.is_empty() {
            return;
        }
        let id = self.messages[pick % self.messages.len()];
        match action(self.store(), id) {
            Ok(()) | Err(StoreError::WrongState { .. } | StoreError::NotFound(_)) => {}
            Err(err) => panic!("admin action on {id}: {err}"),
        }
    }

    fn check(&self) {
        let store = self.store();
        let audit = store.audit().unwrap();
        let mut places: BTreeMap<MessageId, (usize, usize)> = BTreeMap::new();
        for id in audit.queued.values().flatten() {
            places.entry(*id).or_default().0 += 1;
        }
        for id in audit.leased.values().flatten() {
            places.entry(*id).or_default().1 += 1;
        }

        for (id, status) in &audit.statuses {
            let place = places.remove(id).unwrap_or_default();
            let expected = match status {
                Status::Queued => (1, 0),
                Status::Delivered => (0, 1),
                _ => (0, 0),
            };
            assert_eq!(place, expected, "message {id} is {status}");
        }
        assert!(
            places.is_empty(),
            "queue or lease entries without a header: {places:?}"
        );

        for (item, depth) in &audit.depth_counters {
            let queued = audit.queued.get(item).map_or(0, Vec::len) as u64;
            assert_eq!(*depth, queued, "depth counter of {item}");
            assert_eq!(store.queue_depth(item), queued);
        }
        assert!(
            audit
                .queued
                .keys()
                .all(|item| audit.depth_counters.contains_key(item))
        );

        let leased: BTreeSet<_> = audit.leased.values().flatten().copied().collect();
        let held: BTreeSet<_> = self.leases.iter().map(|l| l.header.id).collect();
        assert_eq!(leased, held, "leases on disk are the ones workers hold");

        for status in Status::ALL {
            let query = Query {
                status: Some(status),
                limit: usize::MAX,
                ..Default::default()
            };
            let indexed: BTreeSet<_> = store
                .search(&query)
                .unwrap()
                .into_iter()
                .map(|h| h.id)
                .collect();
            let actual: BTreeSet<_> = audit
                .statuses
                .iter()
                .filter(|(_, s)| **s == status)
                .map(|(id, _)| *id)
                .collect();
            assert_eq!(indexed, actual, "status index for {status}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_steps_keep_every_message_in_exactly_one_place(
        ops in prop::collection::vec(op(), 1..60)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut model = Model {
            store: Some(open(dir.path())),
            leases: Vec::new(),
            messages: Vec::new(),
            accepted: 0,
        };
        for op in ops {
            model.apply(op, dir.path());
            model.check();
        }
    }
}
