//! `stkc`: the command line. Each subcommand lives in `commands/`; this file parses the
//! arguments, runs the command on a thread with a generous stack, and turns the outcome
//! into an exit code. No input makes it exit 101: a panic is caught and reported as a bug.

mod cli;
mod commands;
mod deploy_target;
mod lambda_package;
mod load;
mod s3_lake;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    // A panic is a bug in stkc: say so plainly, without a backtrace, and exit 1 (never 101).
    std::panic::set_hook(Box::new(|info| {
        eprintln!("error: internal error in stkc: {info}");
    }));
    // Deeply nested (but accepted) pipeline files recurse in the checker; give it room.
    let worker = std::thread::Builder::new()
        .name("stkc".into())
        .stack_size(64 << 20)
        .spawn(move || commands::run(args));
    match worker.map(|h| h.join()) {
        Ok(Ok(Ok(code))) => code,
        Ok(Ok(Err(err))) => {
            // The reader of our output went away (`stkc ... | head`): not an error of ours.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
        Ok(Err(_)) | Err(_) => {
            eprintln!(
                "error: stkc hit an internal error (a bug); please report it with the input that caused it"
            );
            ExitCode::from(1)
        }
    }
}

/// A Tokio runtime for the commands that talk to AWS.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}
