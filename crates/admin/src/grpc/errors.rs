//! Engine and store failures as gRPC status codes, chosen by what the caller should do:
//! NOT_FOUND and INVALID_ARGUMENT are permanent, FAILED_PRECONDITION waits for a state
//! change, UNAVAILABLE is worth a retry later, INTERNAL needs a person.

use ferry_runtime::EngineError;
use ferry_store::StoreError;
use tonic::{Code, Status};

/// The code a store failure answers with.
pub(crate) fn store_code(error: &StoreError) -> Code {
    match error {
        StoreError::NotFound(_) => Code::NotFound,
        StoreError::WrongState { .. } => Code::FailedPrecondition,
        StoreError::Database(_)
        | StoreError::Io { .. }
        | StoreError::InUse { .. }
        | StoreError::Closed
        | StoreError::Injected(_) => Code::Unavailable,
        StoreError::Corrupt { .. } | StoreError::NotLeased(_) => Code::Internal,
    }
}

/// The code an engine failure answers with.
pub(crate) fn engine_code(error: &EngineError) -> Code {
    match error {
        EngineError::UnknownItem(_) => Code::NotFound,
        EngineError::NotIndexed { .. } => Code::InvalidArgument,
        EngineError::NotResendable { .. } => Code::FailedPrecondition,
        EngineError::Admin(store) | EngineError::Flush(store) => store_code(store),
        EngineError::Store { source, .. } => store_code(source),
        EngineError::Invalid(_) => Code::Internal,
    }
}

pub(crate) fn store_status(error: &StoreError) -> Status {
    Status::new(store_code(error), error.to_string())
}

pub(crate) fn engine_status(error: &EngineError) -> Status {
    Status::new(engine_code(error), error.to_string())
}

/// A blocking store task that did not finish (the runtime is shutting down).
pub(crate) fn interrupted(_: tokio::task::JoinError) -> Status {
    Status::unavailable("the production is stopping; try again once it runs")
}
