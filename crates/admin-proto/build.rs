//! Generates the client and server code of `ferry.admin.v1` with the vendored `protoc`,
//! so neither developers nor CI need one installed, and writes the descriptor set that
//! the reflection service serves.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto = "proto/ferry/admin/v1/admin.proto";
    println!("cargo:rerun-if-changed={proto}");

    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("ferry_admin_v1.bin"))
        .compile_with_config(config, &[proto], &["proto"])?;
    Ok(())
}
