//! Yahoo Finance as a source of ticks. [`chart`], [`quote`] and [`page`] turn the three
//! endpoints' answers (as recorded from the real service, including its error pages, nulls and
//! pence) into [`Tick`]s stamped with the exchange's event time; what cannot become a tick is
//! counted with its reason ([`Skips`]) or is a [`ParseError`] that says what the page was.
//!
//! The parsers do no I/O (the benchmarks and tests call them directly); [`client`] is the
//! HTTP side and [`poll`] the polling loop the scraper daemon and `stkc run` share.

pub mod chart;
pub mod client;
pub mod error;
pub mod page;
pub mod poll;
pub mod quote;
#[cfg(feature = "test-server")]
pub mod test_server;
pub mod tick;

pub use error::ParseError;
pub use tick::{Skips, Tick};
