//! The Broker OS kernel: what every business context shares and nothing business-specific —
//! errors, ids and the clock, money and the currency table, principals and roles, audit events
//! and their hash chain, canonical JSON, CSV, input normalization, and the audited-write
//! helpers over the storage port (changesets, idempotent execution, paging) and the workflow
//! port. No AWS types, no host wiring.

pub mod answer;
pub mod audit;
pub mod audit_checkpoint;
pub mod audit_export;
pub mod audit_search;
pub mod brands;
pub mod canonical;
pub mod changeset;
pub mod config_document;
pub mod context;
pub mod csv;
pub mod csv_columns;
pub mod error;
pub mod idempotency;
pub mod keys;
pub mod metrics;
pub mod money;
pub mod normalize;
pub mod outbox;
pub mod paging;
pub mod period;
pub mod principal;
mod repository;
pub mod secret_token;
mod serde_error;
pub mod signing;
pub mod webhook_signature;
pub mod workflow;

pub use answer::{Answer, AnswerKind, Replied};

/// Describes `$type`, which serializes itself as a string (an id, a code), as a string in the
/// API's contract. The crate that uses it depends on `utoipa`.
#[macro_export]
macro_rules! string_schema {
    ($type:ty) => {
        impl utoipa::PartialSchema for $type {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                <String as utoipa::PartialSchema>::schema()
            }
        }

        impl utoipa::ToSchema for $type {}
    };
}
pub use brands::Brands;
pub use context::{
    AheadClock, Clock, Core, IdGen, OpContext, Runtime, SystemClock, UuidV7Ids, user_ctx,
    workflow_ctx,
};
pub use error::{Error, Result};
pub use paging::{Items, Page, PageParams, QueueFilter, Versioned, page_limit};
