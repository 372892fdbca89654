//! The EC2 runtime: the `stk-scraper` daemon that polls Yahoo Finance for a pipeline's
//! sources, validates and de-duplicates ticks, evaluates realtime alerts and streams records
//! to Kinesis with an on-disk spool.
//!
//! Not built yet (see the README's status list and the EC2 runtime issue). It will depend on
//! `stk-dsl` and `stk-eval` only, never on the AWS planning code, so the daemon stays small.
