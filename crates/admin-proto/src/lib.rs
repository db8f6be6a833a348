//! The gRPC admin API's contract, `ferry.admin.v1`, compiled from
//! `proto/ferry/admin/v1/admin.proto`: messages, the server trait and the client.

#![allow(missing_docs, unreachable_pub, missing_debug_implementations)]
#![allow(clippy::all, clippy::pedantic)]

/// `ferry.admin.v1`.
pub mod v1 {
    tonic::include_proto!("ferry.admin.v1");

    /// The encoded descriptor set of this package, for the reflection service.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("ferry_admin_v1");
}
