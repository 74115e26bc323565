//! The messages of `proto/service.proto` (package `v1alpha1`), as prost structs.

/// VersionRequest.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionRequest {
    #[prost(string, tag = "1")]
    pub version: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionResponse {
    #[prost(string, tag = "1")]
    pub version: String,
    #[prost(string, tag = "2")]
    pub runtime_name: String,
    #[prost(string, tag = "3")]
    pub runtime_version: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MountRequest {
    #[prost(string, tag = "1")]
    pub attributes: String,
    #[prost(string, tag = "2")]
    pub secrets: String,
    #[prost(string, tag = "3")]
    pub target_path: String,
    #[prost(string, tag = "4")]
    pub permission: String,
    #[prost(message, repeated, tag = "5")]
    pub current_object_version: Vec<ObjectVersion>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MountResponse {
    #[prost(message, repeated, tag = "1")]
    pub object_version: Vec<ObjectVersion>,
    #[prost(message, optional, tag = "2")]
    pub error: Option<Error>,
    #[prost(message, repeated, tag = "3")]
    pub files: Vec<File>,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ObjectVersion {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub version: String,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Error {
    #[prost(string, tag = "1")]
    pub code: String,
}

/// A file for the driver to write. Its contents are a secret: `Debug` leaves them out.
#[derive(Clone, PartialEq, prost::Message)]
#[prost(skip_debug)]
pub struct File {
    #[prost(string, tag = "1")]
    pub path: String,
    #[prost(int32, tag = "2")]
    pub mode: i32,
    #[prost(bytes = "vec", tag = "3")]
    pub contents: Vec<u8>,
}

impl std::fmt::Debug for File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("File")
            .field("path", &self.path)
            .field("mode", &self.mode)
            .field("contents", &format_args!("<{} bytes>", self.contents.len()))
            .finish()
    }
}
