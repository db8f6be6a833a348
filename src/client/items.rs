//! `ferry status`, `ferry queues` and `ferry items enable|disable|restart`.

use std::process::ExitCode;

use ferry_admin_proto::v1 as pb;

use super::args::ItemsCommand;
use super::{Halt, Session, json, output, render, visible};

pub(crate) async fn status(session: &mut Session) -> Result<ExitCode, Halt> {
    let production = session
        .client
        .get_production(pb::GetProductionRequest {})
        .await
        .map_err(|status| session.refused(&status))?
        .into_inner();

    if session.json {
        output::json(&json::production(&production))?;
        return Ok(ExitCode::SUCCESS);
    }
    output::line(&format!(
        "production {} ({}), started {}",
        visible::cell(&production.name),
        visible::cell(&production.file),
        render::time(production.started.as_ref())
    ))?;
    let rows: Vec<Vec<String>> = production.items.iter().map(item_row).collect();
    let headings = [
        "ITEM",
        "ROLE",
        "KIND",
        "ENABLED",
        "QUEUE",
        "OLDEST",
        "RECEIVED",
        "PROCESSED",
        "ERRORS",
        "LISTENING",
        "TROUBLE",
    ];
    output::text(&render::table(&headings, &rows))?;
    Ok(ExitCode::SUCCESS)
}

fn item_row(item: &pb::Item) -> Vec<String> {
    let counts = item.counts.unwrap_or_default();
    let trouble = item
        .trouble
        .as_ref()
        .map(|trouble| format!("{}: {}", trouble.state, trouble.reason));
    vec![
        item.name.clone(),
        render::role(item.role).to_owned(),
        item.kind.clone(),
        if item.enabled { "yes" } else { "no" }.to_owned(),
        item.queue_depth.to_string(),
        render::age(item.oldest_queued_age.as_ref()),
        counts.received.to_string(),
        counts.processed.to_string(),
        counts.errors.to_string(),
        render::text(&item.listening),
        trouble.unwrap_or_else(|| "-".to_owned()),
    ]
}

pub(crate) async fn queues(session: &mut Session) -> Result<ExitCode, Halt> {
    let queues = session
        .client
        .list_queues(pb::ListQueuesRequest {})
        .await
        .map_err(|status| session.refused(&status))?
        .into_inner()
        .queues;

    if session.json {
        output::json(&queues.iter().map(json::queue).collect())?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = queues
        .iter()
        .map(|queue| {
            vec![
                queue.item.clone(),
                queue.depth.to_string(),
                render::age(queue.oldest_queued_age.as_ref()),
                render::time(queue.oldest_queued.as_ref()),
            ]
        })
        .collect();
    output::text(&render::table(&["ITEM", "DEPTH", "OLDEST", "SINCE"], &rows))?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn act(session: &mut Session, command: ItemsCommand) -> Result<ExitCode, Halt> {
    let (name, done) = match &command {
        ItemsCommand::Enable { name } => (name, "enabled"),
        ItemsCommand::Disable { name } => (name, "disabled"),
        ItemsCommand::Restart { name } => (name, "restarted"),
    };
    let request = pb::ItemRequest { item: name.clone() };
    let client = &mut session.client;
    let answer = match command {
        ItemsCommand::Enable { .. } => client.enable_item(request).await,
        ItemsCommand::Disable { .. } => client.disable_item(request).await,
        ItemsCommand::Restart { .. } => client.restart_item(request).await,
    };
    let item = answer
        .map_err(|status| session.refused(&status))?
        .into_inner()
        .item
        .unwrap_or_default();

    if session.json {
        output::json(&json::item(&item))?;
    } else {
        output::line(&format!("{} {done}", visible::cell(name)))?;
    }
    Ok(ExitCode::SUCCESS)
}
