//! The `.stk` pipeline language.
//!
//! The pipeline of types, front to back:
//!
//! ```text
//! text --parse--> syntax::ast::File --check--> ir::Pipeline --(engine, runtimes)
//!        |                |                          |
//!   diag::Diagnostic  fmt::format (canonical text)   schema::json_schema
//! ```
//!
//! Every step is pure: it reads only its input (the checker reaches the file system only
//! through the [`check::World`] trait), so it is easy to test and cannot fail for reasons
//! outside the text. Every failure is a [`diag::Diagnostic`] with a stable code.

pub mod check;
pub mod diag;
pub mod fmt;
pub mod ir;
pub mod schema;
pub mod syntax;

pub use check::{Checked, World, check, check_source};
pub use diag::{Code, Diagnostic, Severity};
