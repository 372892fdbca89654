//! Yahoo Finance as a source of ticks. [`chart`], [`quote`] and [`page`] turn the three
//! endpoints' answers (as recorded from the real service, including its error pages, nulls and
//! pence) into [`Tick`]s stamped with the exchange's event time; what cannot become a tick is
//! counted with its reason ([`Skips`]) or is a [`ParseError`] that says what the page was.
//!
//! Pure parsing: no I/O here, so the scraper daemon, `stkc run` and the benchmarks share it.

pub mod chart;
pub mod error;
pub mod page;
pub mod quote;
pub mod tick;

pub use error::ParseError;
pub use tick::{Skips, Tick};
