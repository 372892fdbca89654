//! `bootstrap`: the Lambda entry point. Reads the configuration once (the handler from
//! `_HANDLER`, the compiled pipeline from the package), builds the clients once, then serves
//! events with `lambda_runtime` until the sandbox is frozen for good.

use aws_lambda_events::s3::S3Event;
use lambda_runtime::layers::TracingLayer;
use lambda_runtime::{LambdaEvent, Runtime, service_fn};
use serde::de::IgnoredAny;
use std::sync::Arc;
use stk_runtime_lambda::compact::Compact;
use stk_runtime_lambda::notify::Notify;
use stk_runtime_lambda::predecode::Batches;
use stk_runtime_lambda::transform::Transform;
use stk_runtime_lambda::{Config, Error, HandlerKind, InitError};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // JSON lines on stdout: CloudWatch Logs keeps them, Logs Insights queries them.
    tracing_subscriber::fmt()
        .json()
        .with_ansi(false)
        .with_current_span(false)
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cfg = Config::from_env().unwrap_or_else(|e| fail_init(e));
    let aws = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    tracing::info!(handler = cfg.handler.name(), pipeline = %cfg.pipeline.name, "init");
    match cfg.handler {
        HandlerKind::Transform => {
            let t = Arc::new(
                Transform::new(&cfg, &aws)
                    .await
                    .unwrap_or_else(|e| fail_init(e)),
            );
            // The event is read by the predecode layer from the invocation's body; the
            // typed handler gets a `null` payload and takes the batch by request id.
            let batches = Batches::default();
            let layer = batches.layer();
            let handler = service_fn(move |ev: LambdaEvent<IgnoredAny>| {
                let (t, batches) = (t.clone(), batches.clone());
                async move {
                    let batch = batches.take(&ev.context.request_id)?;
                    Ok::<_, Error>(t.handle(&batch).await.0)
                }
            });
            Runtime::new(handler)
                .layer(layer)
                .layer(TracingLayer::new())
                .run()
                .await
        }
        HandlerKind::Compact => {
            let c = Arc::new(Compact::new(&cfg, &aws).unwrap_or_else(|| fail_checked()));
            lambda_runtime::run(service_fn(move |ev: LambdaEvent<S3Event>| {
                let c = c.clone();
                async move {
                    let stats = c.handle(&ev.payload).await?;
                    Ok::<_, Error>(serde_json::json!({
                        "objects": stats.objects, "records": stats.records,
                        "files": stats.files, "dead_letters": stats.dead_letters,
                    }))
                }
            }))
            .await
        }
        HandlerKind::Notify => {
            let n = Arc::new(Notify::new(&cfg, &aws).unwrap_or_else(|| fail_checked()));
            lambda_runtime::run(service_fn(move |ev: LambdaEvent<S3Event>| {
                let n = n.clone();
                async move {
                    let stats = n.handle(&ev.payload).await?;
                    Ok::<_, Error>(serde_json::json!({
                        "objects": stats.objects, "records": stats.records,
                        "lookback_records": stats.lookback_records,
                        "firings": stats.firings,
                    }))
                }
            }))
            .await
        }
    }
}

/// An init failure: said once, clearly, on stderr (Lambda shows it as the init error).
fn fail_init(e: InitError) -> ! {
    tracing::error!(error = %e, "init failed");
    eprintln!("stk bootstrap: {e}");
    std::process::exit(1)
}

/// `Config::check` has verified what the handler needs; reaching this is a bug.
fn fail_checked() -> ! {
    eprintln!(
        "stk bootstrap: the configuration passed its check but the handler could not be built"
    );
    std::process::exit(1)
}
