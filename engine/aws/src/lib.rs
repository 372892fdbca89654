//! The SDK half of `stkc plan` / `apply` / `destroy` (the pure half is `stk-deploy`): reads
//! every resource of a pipeline's graph from the live account, in parallel, normalised into
//! the shape of the desired attributes ([`read::snapshot`]), and carries out a plan in
//! dependency order with retries on throttling and IAM propagation ([`apply::apply`]).
//!
//! One module per service under [`kinds`] knows how to read, create, update and delete its
//! kinds; everything that decides *what* to do lives in `stk-deploy`. See
//! `docs/design/deploy.md`.

pub mod apply;
pub mod clients;
pub mod error;
pub mod kinds;
pub mod read;

pub use apply::{ApplyError, Progress, Quiet, Step, apply, destroy};
pub use clients::Aws;
pub use error::AwsError;
pub use read::snapshot;
