//! The adapters this binary knows. The end-to-end tests include this file too, so an
//! engine they start in process knows exactly what `ferry run` knows.

use ferry_adapter::Registry;

/// Every service and operation kind of this build.
pub(crate) fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .add_service(ferry_file::FileServiceFactory)
        .add_operation(ferry_file::FileOperationFactory)
        .add_service(ferry_mllp::MllpServiceFactory)
        .add_operation(ferry_mllp::MllpOperationFactory)
        .add_service(ferry_amqp::AmqpServiceFactory)
        .add_operation(ferry_amqp::AmqpOperationFactory)
        .add_service(ferry_http::HttpServiceFactory)
        .add_operation(ferry_http::HttpOperationFactory);
    registry
}
