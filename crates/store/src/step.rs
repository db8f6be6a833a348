//! Finishing a leased message, and counting its failed attempts.
//!
//! `complete` writes in one batch: the lease removed, the header's final status (and its
//! status index entry), the response body, each output's body, header, index entries and
//! queue entry, and the step's events. A crash leaves the step either undone (the lease is
//! returned at the next start) or done.

use ferry_message::{BodyId, Header, MessageId, Status};

use crate::clock::Stamp;
use crate::records::StoredHeader;
use crate::sled_store::SledStore;
use crate::writer::Writer;
use crate::{Lease, NewEvent, Outcome, Output, OutputBody, Step, StepDone, StoreError};

impl SledStore {
    /// See [`crate::Store::complete`].
    pub(crate) fn complete_step(&self, step: &Step) -> Result<StepDone, StoreError> {
        let (queue, mut stored) = self.check_lease(&step.lease)?;
        let new_bodies = step.response.is_some() as usize
            + step
                .outputs
                .iter()
                .filter(|o| matches!(o.body, OutputBody::New(_)))
                .count();
        let mut stamp = self
            .clock
            .stamp(new_bodies + step.outputs.len() + step.events.len())?;
        let mut writer = Writer::new(self);

        writer.unlease(&queue, step.lease.seq);
        if let Some(response) = &step.response {
            let id = BodyId(stamp.id()?);
            writer.body(id, response)?;
            stored.header.response = Some(id);
        }
        let (status, reason) = outcome_status(&step.outcome);
        stored.header.status = status;
        // A message that got through keeps no reason: an earlier attempt's failure on a
        // Completed message reads as if it had failed.
        stored.header.reason = match step.outcome {
            crate::Outcome::Completed => None,
            _ => reason.or(stored.header.reason),
        };
        stored.header.updated = stamp.time;
        writer.update_header(Status::Delivered, &stored)?;

        let mut outputs = Vec::with_capacity(step.outputs.len());
        for output in &step.outputs {
            outputs.push(write_output(&mut writer, &mut stamp, &stored, output)?);
        }
        writer.events(&mut stamp, &step.events)?;

        writer.commit()?;
        Ok(StepDone { outputs })
    }

    /// See [`crate::Store::record_attempt`].
    pub(crate) fn attempt(
        &self,
        lease: &mut Lease,
        reason: &str,
        event: Option<NewEvent>,
    ) -> Result<(), StoreError> {
        let (_, mut stored) = self.check_lease(lease)?;
        let events: Vec<NewEvent> = event.into_iter().collect();
        let mut stamp = self.clock.stamp(events.len())?;

        stored.header.attempts = stored.header.attempts.saturating_add(1);
        stored.header.reason = Some(reason.to_owned());
        stored.header.updated = stamp.time;

        let mut writer = Writer::new(self);
        writer.update_header(Status::Delivered, &stored)?;
        writer.events(&mut stamp, &events)?;
        writer.commit()?;

        lease.header = stored.header;
        Ok(())
    }
}

/// The status an outcome sets, and the reason it gives.
fn outcome_status(outcome: &Outcome) -> (Status, Option<String>) {
    match outcome {
        Outcome::Completed => (Status::Completed, None),
        Outcome::Error(reason) => (Status::Error, Some(reason.clone())),
        Outcome::Suspended(reason) => (Status::Suspended, Some(reason.clone())),
        Outcome::Discarded(reason) => (Status::Discarded, Some(reason.clone())),
    }
}

/// Writes and queues one output of the leased message `parent`.
fn write_output(
    writer: &mut Writer<'_>,
    stamp: &mut Stamp,
    parent: &StoredHeader,
    output: &Output,
) -> Result<MessageId, StoreError> {
    let (body, search) = match &output.body {
        OutputBody::Same => (parent.header.body, parent.search.clone()),
        OutputBody::New(new) => {
            let id = BodyId(stamp.id()?);
            writer.body(id, new)?;
            (id, output.search.clone())
        }
    };

    let id = MessageId(stamp.id()?);
    let stored = StoredHeader {
        header: Header {
            id,
            session: parent.header.session,
            parent: Some(parent.header.id),
            resend_of: None,
            source: parent.header.target.clone(),
            target: output.target.clone(),
            created: stamp.time,
            updated: stamp.time,
            status: Status::Queued,
            doc_type: output.doc_type.clone(),
            body,
            possible_duplicate: parent.header.possible_duplicate,
            attempts: 0,
            reason: None,
            response: None,
        },
        queue_seq: Some(id.0),
        duplicate_key: None,
        search,
    };

    writer.new_header(&stored)?;
    let queue = writer.item(&output.target)?;
    writer.enqueue(&queue, id.0, id)?;
    Ok(id)
}
