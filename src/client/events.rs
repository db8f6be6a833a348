//! `ferry events [--follow]`: the newest events, oldest of them first, then (with
//! `--follow`) every live change until interrupted.

use std::process::ExitCode;

use ferry_admin_proto::v1 as pb;
use ferry_admin_proto::v1::watch_events_response::Change;
use tokio_stream::StreamExt;

use super::{Failure, Halt, Session, json, output, render, visible};

pub(crate) async fn run(session: &mut Session, follow: bool, limit: u32) -> Result<ExitCode, Halt> {
    // Watch first, so nothing logged between the page and the stream is lost.
    let mut live = if follow {
        let stream = session
            .client
            .watch_events(pb::WatchEventsRequest {})
            .await
            .map_err(|status| session.refused(&status))?
            .into_inner();
        Some(stream)
    } else {
        None
    };

    let request = pb::ListEventsRequest {
        after: None,
        before: None,
        limit,
    };
    let mut events = session
        .client
        .list_events(request)
        .await
        // With --follow the watch call has been answered already.
        .map_err(|status| match live {
            Some(_) => session.lost(&status),
            None => session.refused(&status),
        })?
        .into_inner()
        .events;
    events.reverse();
    let last_shown = events.last().map(|event| event.id);

    if session.json && !follow {
        output::json(&events.iter().map(json::event).collect())?;
        return Ok(ExitCode::SUCCESS);
    }
    if session.json {
        for event in &events {
            output::json(&json::event(event))?;
        }
    } else {
        let rows: Vec<Vec<String>> = events.iter().map(event_row).collect();
        output::text(&render::table(&HEADINGS, &rows))?;
    }

    let Some(live) = &mut live else {
        return Ok(ExitCode::SUCCESS);
    };
    while let Some(received) = live.next().await {
        let change = received.map_err(|status| session.lost(&status))?.change;
        let Some(change) = change else { continue };
        if let Change::Logged(event) = &change
            && last_shown.is_some_and(|last| event.id <= last)
        {
            continue;
        }
        print_change(session.json, &change)?;
    }
    // The watch never ends while Ferry runs; it closes it when shutting down.
    Err(Failure(format!(
        "the connection to {} ended: Ferry stopped?",
        session.target.shown
    ))
    .into())
}

const HEADINGS: [&str; 8] = [
    "ID", "TIME", "LEVEL", "KIND", "ITEM", "MESSAGE", "ACTOR", "TEXT",
];

fn event_row(event: &pb::Event) -> Vec<String> {
    vec![
        event.id.to_string(),
        render::time(event.time.as_ref()),
        render::level(event.level).to_owned(),
        render::event_kind(event.kind).to_owned(),
        render::text(&event.item),
        render::id(event.message),
        render::text(&event.actor),
        event.text.clone(),
    ]
}

fn print_change(as_json: bool, change: &Change) -> Result<(), Halt> {
    if as_json {
        return output::json(&json::change(change));
    }
    let line = match change {
        Change::Logged(event) => render::row(&event_row(event)),
        Change::QueueDepth(queue) => {
            format!("queue {} depth {}", visible::cell(&queue.item), queue.depth)
        }
        Change::ItemState(item) => {
            let enabled = if item.enabled { "enabled" } else { "disabled" };
            let trouble = item.trouble.as_ref().map(|t| format!(", {}", t.state));
            let state = format!("{enabled}{}", trouble.unwrap_or_default());
            format!(
                "item {} {}",
                visible::cell(&item.name),
                visible::cell(&state)
            )
        }
        Change::Missed(missed) => format!("({missed} changes missed: the watcher fell behind)"),
    };
    output::line(&line)
}
