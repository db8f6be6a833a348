//! `ferry messages search|show|resend|suspend|discard` and `ferry trace`.

use std::process::ExitCode;

use ferry_admin_proto::v1 as pb;

use super::args::{MessagesCommand, SearchArgs};
use super::{Failure, Halt, Session, json, output, render, visible};

pub(crate) async fn run(session: &mut Session, command: MessagesCommand) -> Result<ExitCode, Halt> {
    match command {
        MessagesCommand::Search(search) => find(session, *search).await,
        MessagesCommand::Show { id, raw } => show(session, id, raw).await,
        MessagesCommand::Resend { ids } => act(session, Action::Resend, ids).await,
        MessagesCommand::Suspend { ids } => act(session, Action::Suspend, ids).await,
        MessagesCommand::Discard { ids } => act(session, Action::Discard, ids).await,
    }
}

fn timestamp(time: jiff::Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.as_second(),
        nanos: time.subsec_nanosecond(),
    }
}

fn search_request(search: SearchArgs) -> pb::SearchMessagesRequest {
    let status = search
        .status
        .map(|status| status as i32)
        .unwrap_or_default();
    let (field, value) = search.field.unwrap_or_default();
    pb::SearchMessagesRequest {
        from: search.from.map(timestamp),
        to: search.to.map(timestamp),
        source: search.source.unwrap_or_default(),
        target: search.target.or(search.item).unwrap_or_default(),
        // The engine's status numbers are the contract's (Queued = 1 … Discarded = 6).
        status,
        doc_type: search.doc_type.unwrap_or_default(),
        session: search.session,
        field,
        value,
        before: search.before,
        limit: search.limit,
    }
}

async fn find(session: &mut Session, search: SearchArgs) -> Result<ExitCode, Halt> {
    let page = session
        .client
        .search_messages(search_request(search))
        .await
        .map_err(|status| session.refused(&status))?
        .into_inner();

    if session.json {
        let messages: Vec<_> = page.messages.iter().map(json::header).collect();
        output::json(&serde_json::json!({"messages": messages, "next_before": page.next_before}))?;
        return Ok(ExitCode::SUCCESS);
    }
    output::text(&headers_table(&page.messages))?;
    if let Some(next) = page.next_before {
        output::line(&format!("more: add --before {next}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn headers_table(headers: &[pb::MessageHeader]) -> String {
    let rows: Vec<Vec<String>> = headers
        .iter()
        .map(|header| {
            vec![
                header.id.to_string(),
                header.session.to_string(),
                render::id(header.parent),
                render::id(header.resend_of),
                render::time(header.created.as_ref()),
                render::time(header.updated.as_ref()),
                header.source.clone(),
                header.target.clone(),
                render::status(header.status).to_owned(),
                render::text(&header.doc_type),
                render::text(&header.reason),
            ]
        })
        .collect();
    let headings = [
        "ID",
        "SESSION",
        "PARENT",
        "RESEND_OF",
        "CREATED",
        "UPDATED",
        "SOURCE",
        "TARGET",
        "STATUS",
        "TYPE",
        "REASON",
    ];
    render::table(&headings, &rows)
}

async fn show(session: &mut Session, id: u64, raw: bool) -> Result<ExitCode, Halt> {
    let message = session
        .client
        .get_message(pb::GetMessageRequest { id })
        .await
        .map_err(|status| session.refused(&status))?
        .into_inner();

    if raw {
        // Exact bytes on purpose, as `cat` writes them: for files and pipes.
        let Some(body) = &message.body else {
            return Err(Failure(format!("message {id} has no body (purged)")).into());
        };
        output::bytes(&body.bytes)?;
        return Ok(ExitCode::SUCCESS);
    }
    if session.json {
        output::json(&json::message(&message))?;
        return Ok(ExitCode::SUCCESS);
    }
    output::text(&details(&message))?;
    Ok(ExitCode::SUCCESS)
}

/// A message for people: its header row, search fields, then body and response with
/// one HL7 segment per line.
fn details(message: &pb::GetMessageResponse) -> String {
    let mut shown = String::new();
    if let Some(header) = &message.header {
        shown.push_str(&headers_table(std::slice::from_ref(header)));
    }
    for field in &message.fields {
        let field_line = format!(
            "{} = {}\n",
            visible::cell(&field.field),
            visible::cell(&field.value)
        );
        shown.push_str(&field_line);
    }
    for (title, body) in [("body", &message.body), ("response", &message.response)] {
        let Some(body) = body else { continue };
        let text = visible::lines(&String::from_utf8_lossy(&body.bytes));
        let section = format!(
            "\n{title} ({}, {} bytes):\n{}\n",
            render::content_kind(body.kind),
            body.bytes.len(),
            text.trim_end()
        );
        shown.push_str(&section);
    }
    shown
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Resend,
    Suspend,
    Discard,
}

async fn act(session: &mut Session, action: Action, ids: Vec<u64>) -> Result<ExitCode, Halt> {
    let request = pb::MessagesRequest { ids };
    let client = &mut session.client;
    let answer = match action {
        Action::Resend => client.resend_messages(request).await,
        Action::Suspend => client.suspend_messages(request).await,
        Action::Discard => client.discard_messages(request).await,
    };
    let results = answer
        .map_err(|status| session.refused(&status))?
        .into_inner()
        .results;

    if session.json {
        output::json(&results.iter().map(json::result).collect())?;
    } else {
        for result in &results {
            output::line(&result_line(action, result))?;
        }
    }
    let all_done = results.iter().all(|result| result.ok);
    Ok(if all_done {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn result_line(action: Action, result: &pb::MessageResult) -> String {
    let id = result.id;
    if !result.ok {
        return format!("{id}: {}", visible::cell(&result.error));
    }
    match (action, result.resent_as) {
        (Action::Resend, Some(copy)) => format!("{id}: resent as {copy}"),
        (Action::Resend, None) => format!("{id}: resent"),
        (Action::Suspend, _) => format!("{id}: suspended"),
        (Action::Discard, _) => format!("{id}: discarded"),
    }
}

pub(crate) async fn trace(session: &mut Session, id: u64) -> Result<ExitCode, Halt> {
    let hops = session
        .client
        .get_trace(pb::GetTraceRequest { session: id })
        .await
        .map_err(|status| session.refused(&status))?
        .into_inner()
        .hops;

    if session.json {
        output::json(&hops.iter().map(json::header).collect())?;
    } else {
        output::text(&headers_table(&hops))?;
    }
    Ok(ExitCode::SUCCESS)
}
