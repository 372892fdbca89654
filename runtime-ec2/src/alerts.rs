//! Realtime alerts in the daemon: the pipeline's `delivery = realtime` alerts evaluated on
//! every valid tick by the streaming evaluator (`stk_eval::AlertEvaluator`, the same code as
//! `stkc run` and `stkc backtest`), and each firing published to the alerts SNS topic, whose
//! email subscriptions deliver it. Publishing runs on its own task, so a slow SNS never holds
//! up polling; a failed publish is retried, then logged with the whole firing.

use aws_sdk_sns::Client;
use std::time::Duration;
use stk_dsl::ir::{Delivery, Pipeline};
use stk_eval::{AlertEvaluator, Firing, Record};
use tokio::sync::mpsc;

pub struct RealtimeAlerts {
    evaluators: Vec<AlertEvaluator>,
    firings: Vec<Firing>,
}

impl RealtimeAlerts {
    pub fn new(p: &Pipeline) -> Self {
        RealtimeAlerts {
            evaluators: p
                .alerts
                .iter()
                .filter(|a| a.delivery == Delivery::Realtime)
                .map(|a| AlertEvaluator::new(a, &p.schema))
                .collect(),
            firings: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.evaluators.is_empty()
    }

    /// Evaluate one valid record; returns what fired.
    pub fn push(&mut self, record: &Record) -> Vec<Firing> {
        for e in &mut self.evaluators {
            e.push(record, &mut self.firings);
        }
        std::mem::take(&mut self.firings)
    }
}

/// Publishes firings from a channel until it closes; returns how many were published.
pub async fn publish_loop(sns: Client, topic_arn: String, mut rx: mpsc::Receiver<Firing>) -> u64 {
    let mut published = 0;
    while let Some(f) = rx.recv().await {
        let mut wait = Duration::from_millis(200);
        for attempt in 1..=4 {
            let r = sns
                .publish()
                .topic_arn(&topic_arn)
                .subject(f.subject())
                .message(f.body())
                .send()
                .await;
            match r {
                Ok(_) => {
                    published += 1;
                    break;
                }
                Err(e) if attempt < 4 => {
                    tracing::warn!(error = %aws_sdk_sns::error::DisplayErrorContext(&e), attempt, "SNS publish failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(e) => {
                    tracing::error!(
                        error = %aws_sdk_sns::error::DisplayErrorContext(&e),
                        alert = %f.alert, key = %f.key_text(), ts = %f.ts, message = %f.message,
                        "alert not delivered to SNS"
                    );
                }
            }
        }
    }
    published
}
