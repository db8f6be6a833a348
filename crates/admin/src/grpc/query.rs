//! A `SearchMessagesRequest` as a store [`Query`], checked first so that a wrong request
//! answers INVALID_ARGUMENT instead of an empty page.

use ferry_admin_proto::v1 as pb;
use ferry_message::{ItemName, MessageId, SessionId};
use ferry_store::{Query, SearchValue};
use jiff::Timestamp;
use tonic::Status;

use super::convert;

/// Headers per page when the request gives no limit.
pub(crate) const DEFAULT_LIMIT: usize = 100;

/// The most headers or events one page holds.
pub(crate) const MAX_LIMIT: usize = 1000;

/// A page size from a request's `limit`: 0 means the default, big ones are cut.
pub(crate) fn page_size(limit: u32) -> usize {
    match usize::try_from(limit) {
        Ok(0) => DEFAULT_LIMIT,
        Ok(limit) => limit.min(MAX_LIMIT),
        Err(_) => MAX_LIMIT,
    }
}

/// The store query for `request`, asking for one header more than a page so the answer
/// can tell whether another page follows.
///
/// # Errors
///
/// INVALID_ARGUMENT for a time that cannot be represented, `to` not after `from`, a
/// field without a value (or the reverse), or an unknown status number.
pub(crate) fn search_query(request: &pb::SearchMessagesRequest) -> Result<Query, Status> {
    let from = request.from.as_ref().map(time).transpose()?;
    let to = request.to.as_ref().map(time).transpose()?;
    if let (Some(from), Some(to)) = (from, to)
        && to <= from
    {
        return Err(Status::invalid_argument("`to` must be after `from`"));
    }

    let status = pb::Status::try_from(request.status)
        .map_err(|_| Status::invalid_argument(format!("unknown status {}", request.status)))?;

    let field = match (request.field.trim(), request.value.as_str()) {
        ("", "") => None,
        ("", _) => return Err(Status::invalid_argument("`value` needs a `field`")),
        (field, value) => Some(SearchValue {
            field: field.to_owned(),
            value: value.to_owned(),
        }),
    };

    Ok(Query {
        from,
        to,
        source: item(&request.source),
        target: item(&request.target),
        status: convert::engine_status(status),
        doc_type: non_empty(&request.doc_type),
        session: request.session.map(SessionId),
        field,
        before: request.before.map(MessageId),
        limit: page_size(request.limit) + 1,
    })
}

fn time(time: &prost_types::Timestamp) -> Result<Timestamp, Status> {
    Timestamp::new(time.seconds, time.nanos)
        .map_err(|error| Status::invalid_argument(format!("bad time: {error}")))
}

fn item(name: &str) -> Option<ItemName> {
    non_empty(name).map(ItemName::new)
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_requests_are_invalid_arguments() {
        let backwards = pb::SearchMessagesRequest {
            from: Some(prost_types::Timestamp {
                seconds: 10,
                nanos: 0,
            }),
            to: Some(prost_types::Timestamp {
                seconds: 5,
                nanos: 0,
            }),
            ..Default::default()
        };
        let value_alone = pb::SearchMessagesRequest {
            value: "X".to_owned(),
            ..Default::default()
        };
        let huge_time = pb::SearchMessagesRequest {
            from: Some(prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: -5,
            }),
            ..Default::default()
        };
        for request in [backwards, value_alone, huge_time] {
            let error = search_query(&request).unwrap_err();
            assert_eq!(error.code(), tonic::Code::InvalidArgument, "{request:?}");
        }
    }

    #[test]
    fn a_page_asks_for_one_more() {
        let request = pb::SearchMessagesRequest {
            field: "MSH-10".to_owned(),
            value: "MSG0001".to_owned(),
            limit: 5,
            ..Default::default()
        };
        let query = search_query(&request).unwrap();
        assert_eq!(query.limit, 6);
        assert_eq!(query.field.unwrap().field, "MSH-10");
        assert_eq!(page_size(0), DEFAULT_LIMIT);
        assert_eq!(page_size(u32::MAX), MAX_LIMIT);
    }
}
