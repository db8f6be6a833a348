//! `ferry events [--follow]`: the newest events, oldest of them first, then (with
//! `--follow`) every live change until interrupted.

use std::process::ExitCode;

use ferry_admin_proto::v1 as pb;
use ferry_admin_proto::v1::watch_events_response::Change;
use tokio_stream::StreamExt;

use super::{Failure, Session, json, print_json, render};

pub(crate) async fn run(
    session: &mut Session,
    follow: bool,
    limit: u32,
) -> Result<ExitCode, Failure> {
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
        .map_err(|status| session.refused(&status))?
        .into_inner()
        .events;
    events.reverse();
    let last_shown = events.last().map(|event| event.id);

    if session.json && !follow {
        print_json(&events.iter().map(json::event).collect());
        return Ok(ExitCode::SUCCESS);
    }
    if session.json {
        events
            .iter()
            .for_each(|event| print_json(&json::event(event)));
    } else {
        print!(
            "{}",
            render::table(&HEADINGS, &events.iter().map(event_row).collect::<Vec<_>>())
        );
    }

    let Some(live) = &mut live else {
        return Ok(ExitCode::SUCCESS);
    };
    while let Some(received) = live.next().await {
        let change = received.map_err(|status| session.refused(&status))?.change;
        let Some(change) = change else { continue };
        if let Change::Logged(event) = &change
            && last_shown.is_some_and(|last| event.id <= last)
        {
            continue;
        }
        print_change(session.json, &change);
    }
    Ok(ExitCode::SUCCESS)
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

fn print_change(as_json: bool, change: &Change) {
    if as_json {
        print_json(&json::change(change));
        return;
    }
    match change {
        Change::Logged(event) => println!("{}", event_row(event).join("  ")),
        Change::QueueDepth(queue) => println!("queue {} depth {}", queue.item, queue.depth),
        Change::ItemState(item) => {
            let enabled = if item.enabled { "enabled" } else { "disabled" };
            let trouble = item.trouble.as_ref().map(|t| format!(", {}", t.state));
            println!(
                "item {} {enabled}{}",
                item.name,
                trouble.unwrap_or_default()
            );
        }
        Change::Missed(missed) => println!("({missed} changes missed: the watcher fell behind)"),
    }
}
