//! Data-impact notes: what a planned change does to data or to the running pipeline (records
//! a replaced stream drops, objects a deleted bucket takes with it, partitions a new prefix
//! orphans, a scraper spool lost with its instance). Rules per kind and action; the plan
//! carries them, `apply` does not decide anything from them.

use crate::plan::{Action, AttrChange};
use crate::resource::{Kind, ResourceId};
use crate::snapshot::LiveResource;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImpactLevel {
    /// Data is deleted or becomes unreachable.
    DataLoss,
    /// Data stays but is no longer where the pipeline looks (old partitions).
    Orphaned,
    /// The pipeline pauses or repeats work; nothing is lost.
    Interruption,
    /// Worth knowing; nothing is lost.
    Notice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impact {
    pub level: ImpactLevel,
    pub note: String,
}

/// The logical names of the scraper's artifacts (`graph::artifacts`) start with this.
const SCRAPER_ARTIFACTS: &str = "scraper/";

fn impact(level: ImpactLevel, note: impl Into<String>) -> Impact {
    Impact {
        level,
        note: note.into(),
    }
}

/// The notes for one planned change.
pub fn impacts(
    id: &ResourceId,
    action: Action,
    changes: &[AttrChange],
    live: Option<&LiveResource>,
) -> Vec<Impact> {
    use ImpactLevel::{DataLoss, Interruption, Notice, Orphaned};
    let changed = |attr: &str| changes.iter().find(|c| c.attribute == attr);
    let gone = matches!(action, Action::Replace | Action::Delete);
    let mut out = Vec::new();
    match id.kind {
        Kind::KinesisStream if gone => {
            let hours = live
                .and_then(|l| l.attributes.get("retention_hours"))
                .and_then(Value::as_u64)
                .map_or_else(String::new, |h| format!(" (it keeps {h}h)"));
            out.push(impact(
                DataLoss,
                format!("records in the stream that a consumer has not read yet are lost with it{hours}"),
            ));
        }
        Kind::S3Bucket if gone => match live.and_then(|l| l.holds_data) {
            Some(false) => {}
            held => {
                let holds = if held == Some(true) { "holds" } else { "may hold" };
                let note = if action == Action::Delete {
                    format!("the bucket {holds} objects, deleted with it (`destroy` refuses without --force-delete-data)")
                } else {
                    format!("a new bucket is made; the old one {holds} objects, which are not copied and are deleted with it")
                };
                out.push(impact(DataLoss, note));
            }
        },
        Kind::FirehoseDeliveryStream => {
            if let Some(c) = changed("prefix").filter(|_| action != Action::Create) {
                out.push(impact(
                    Orphaned,
                    format!(
                        "raw objects already written under {} stay there: those partitions are orphaned, and the new layout {} starts empty",
                        show(c.before.as_ref()),
                        show(c.after.as_ref())
                    ),
                ));
            }
            if action == Action::Replace {
                out.push(impact(
                    Interruption,
                    "the new delivery stream reads the Kinesis stream afresh: records around the switch can be missing from the raw bucket or written twice",
                ));
            }
        }
        Kind::GlueTable if action == Action::Update && changed("partition_keys").is_some() => {
            out.push(impact(
                Orphaned,
                "Parquet written under the old partition keys no longer matches the table: queries miss it until the lake is rebuilt",
            ));
        }
        Kind::LambdaEventSourceMapping if action == Action::Replace => out.push(impact(
            Interruption,
            "the new mapping starts at the oldest record: records still in the stream are processed again (InfluxDB overwrites identical points)",
        )),
        Kind::Ec2Instance if gone => out.push(impact(
            DataLoss,
            "ticks in the scraper's spool that Kinesis has not acknowledged are lost with the instance's root volume (SIGTERM drains for up to 20 s first)",
        )),
        Kind::Ec2Instance if action == Action::Update && changed("instance_type").is_some() => {
            out.push(impact(
                Interruption,
                "the instance is stopped and started to change its type: the scraper pauses; its spool survives",
            ))
        }
        Kind::S3Object
            if action == Action::Update && id.name.starts_with(SCRAPER_ARTIFACTS) =>
        {
            out.push(impact(
                Interruption,
                "the scraper instance installs it within about 2 minutes (stk-refresh.timer) and restarts the daemon: it drains to Kinesis first and keeps its spool",
            ))
        }
        Kind::LogGroup if gone => out.push(impact(DataLoss, "the function's logs are deleted")),
        Kind::SnsTopic if gone => out.push(impact(
            Notice,
            "the topic's subscriptions go with it: every address must confirm again",
        )),
        Kind::SnsSubscription if matches!(action, Action::Create | Action::Replace) => {
            out.push(impact(
                Notice,
                format!(
                    "AWS mails {} a confirmation link; alerts reach it only once it is confirmed",
                    id.name
                ),
            ))
        }
        _ => {}
    }
    out
}

fn show(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) if s.is_empty() => "the bucket root".to_string(),
        Some(Value::String(s)) => format!("`{s}`"),
        Some(other) => other.to_string(),
        None => "nothing".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Owner;

    fn live(holds_data: Option<bool>) -> LiveResource {
        LiveResource {
            owner: Owner::Pipeline,
            attributes: Default::default(),
            tags: Default::default(),
            physical_id: None,
            holds_data,
        }
    }

    #[test]
    fn a_bucket_is_data_loss_unless_known_empty() {
        let id = ResourceId::new(Kind::S3Bucket, "raw");
        assert!(impacts(&id, Action::Delete, &[], Some(&live(Some(false)))).is_empty());
        let full = impacts(&id, Action::Delete, &[], Some(&live(Some(true))));
        assert_eq!(full[0].level, ImpactLevel::DataLoss);
        assert!(full[0].note.contains("holds objects"), "{}", full[0].note);
        let unknown = impacts(&id, Action::Replace, &[], Some(&live(None)));
        assert!(unknown[0].note.contains("may hold"), "{}", unknown[0].note);
        assert!(impacts(&id, Action::Update, &[], Some(&live(Some(true)))).is_empty());
    }

    #[test]
    fn a_new_firehose_prefix_orphans_partitions() {
        let id = ResourceId::new(Kind::FirehoseDeliveryStream, "raw");
        let change = AttrChange {
            attribute: "prefix".into(),
            before: Some(Value::String("date=!{partitionKeyFromQuery:date}/".into())),
            after: Some(Value::String(String::new())),
            forces_replacement: false,
        };
        let notes = impacts(&id, Action::Update, &[change], None);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].level, ImpactLevel::Orphaned);
        assert!(
            notes[0].note.contains("the bucket root"),
            "{}",
            notes[0].note
        );
    }
}
