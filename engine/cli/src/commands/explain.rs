//! `stkc explain [CODE]`: what a diagnostic code means.

use anyhow::{Result, bail};
use std::process::ExitCode;
use stk_dsl::Code;

pub fn run(code: Option<&str>) -> Result<ExitCode> {
    match code {
        None => {
            for c in Code::ALL {
                println!(
                    "{c}  {:<7}  {}",
                    format!("{:?}", c.severity()).to_lowercase(),
                    c.summary()
                );
            }
        }
        Some(text) => match text.parse::<Code>() {
            Ok(c) => println!("{c} ({:?}): {}", c.severity(), c.summary()),
            Err(()) => bail!("`{text}` is not a stkc diagnostic code; `stkc explain` lists them"),
        },
    }
    Ok(ExitCode::SUCCESS)
}
