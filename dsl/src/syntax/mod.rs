//! The syntax layer: grammar, spans, the syntax tree and the parser that builds it.

pub mod ast;
pub mod literal;
pub mod parser;
pub mod span;

pub use parser::{parse, parse_expr};
