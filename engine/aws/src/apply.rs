//! Carrying out a plan: creates, updates and replacements in the graph's dependency waves
//! (a wave's resources in parallel), then deletions dependents first (reverse kind order,
//! since a kind only depends on kinds before it). Throttling and IAM propagation are retried
//! with exponential backoff and jitter for about two minutes; any other error stops the apply
//! after the wave it happened in. Nothing is remembered between runs: every step converges
//! from what is live, so a rerun after a failure finishes the job.

use crate::error::AwsError;
use crate::kinds::support::live_name;
use crate::kinds::{self, Cx};
use backon::{ExponentialBuilder, Retryable};
use futures_util::future::join_all;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use stk_deploy::{
    Action, Kind, LiveResource, Plan, Resource, ResourceChange, ResourceId, Snapshot,
};

/// What a step did, for progress output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Create,
    Update,
    /// The delete half of a replacement, or a resource the file no longer has.
    Delete,
}

impl Step {
    /// Terraform's words: "Creating...", "Modifying...", "Destroying...".
    pub fn verb(self) -> &'static str {
        match self {
            Step::Create => "Creating",
            Step::Update => "Modifying",
            Step::Delete => "Destroying",
        }
    }
}

/// Told about every step as it starts and ends (the CLI prints a line for each).
pub trait Progress: Sync {
    fn started(&self, id: &ResourceId, name: &str, step: Step);
    fn finished(
        &self,
        id: &ResourceId,
        name: &str,
        step: Step,
        took: Duration,
        error: Option<&AwsError>,
    );
}

/// Progress that says nothing (library use and tests).
pub struct Quiet;

impl Progress for Quiet {
    fn started(&self, _: &ResourceId, _: &str, _: Step) {}
    fn finished(&self, _: &ResourceId, _: &str, _: Step, _: Duration, _: Option<&AwsError>) {}
}

/// Why an apply stopped.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The steps that failed (with their errors) and how many finished.
    #[error("{} of the plan's steps failed ({done} finished); a rerun of apply continues from here:\n{}", failed.len(), list(failed))]
    Steps {
        failed: Vec<(ResourceId, AwsError)>,
        done: usize,
    },
    /// The graph has no order to apply in (a dependency cycle); nothing was changed.
    #[error(transparent)]
    Graph(#[from] stk_deploy::GraphError),
}

fn list(failed: &[(ResourceId, AwsError)]) -> String {
    failed
        .iter()
        .map(|(id, e)| format!("  {id}: {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How long an IAM change can take to be seen by other services, and throttling to pass.
fn backoff() -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(15))
        .with_max_times(14)
        .with_jitter()
}

/// Carries out `plan` (made from `cx.graph` and `live`). Returns the number of steps done.
pub async fn apply(
    cx: &Cx<'_>,
    plan: &Plan,
    live: &Snapshot,
    progress: &dyn Progress,
) -> Result<usize, ApplyError> {
    let changes: BTreeMap<&ResourceId, &ResourceChange> =
        plan.resources.iter().map(|c| (&c.id, c)).collect();
    let waves = cx.graph.apply_waves()?;
    let mut done = 0;
    // Deletes run at the end: resources the file dropped, and the old half of a
    // replacement whose new resource has another name (made first, so nothing is without).
    let mut deletes: Vec<(&ResourceId, &LiveResource)> = Vec::new();
    for wave in &waves {
        let mut jobs = Vec::new();
        for id in wave {
            let (Some(change), Some(r)) = (changes.get(id), cx.graph.get(id)) else {
                continue;
            };
            let old = live.resources.get(id);
            let job = match (change.action, old) {
                (Action::Create, _) => Job::Create(r),
                (Action::Update, Some(old)) => Job::Update(r, old, change),
                (Action::Replace, Some(old)) => {
                    let renamed = live_name(old).ok() != Some(r.name.as_str());
                    if renamed {
                        deletes.push((id, old));
                    }
                    Job::Replace(r, old, renamed)
                }
                _ => continue,
            };
            jobs.push(job);
        }
        let steps = jobs.iter().map(|job| {
            let r = job.resource();
            let step = match job {
                Job::Update(..) => Step::Update,
                _ => Step::Create,
            };
            run(&r.id, &r.name, step, progress, async || job.run(cx).await)
        });
        let steps: Vec<_> = steps.collect();
        settle(join_all(steps).await, &mut done)?;
    }
    for c in plan.resources.iter().filter(|c| c.action == Action::Delete) {
        if let Some(old) = live.resources.get(&c.id) {
            deletes.push((&c.id, old));
        }
    }
    delete_all(cx, deletes, progress, &mut done).await?;
    Ok(done)
}

/// A create, update or replacement of one desired resource.
enum Job<'a> {
    Create(&'a Resource),
    Update(&'a Resource, &'a LiveResource, &'a ResourceChange),
    /// The live resource, and whether the new one has another name (then the old one is
    /// deleted at the end instead of first).
    Replace(&'a Resource, &'a LiveResource, bool),
}

impl Job<'_> {
    fn resource(&self) -> &Resource {
        match self {
            Job::Create(r) | Job::Update(r, ..) | Job::Replace(r, ..) => r,
        }
    }

    async fn run(&self, cx: &Cx<'_>) -> Result<(), AwsError> {
        match self {
            Job::Create(r) => Box::pin(kinds::create(cx, r)).await,
            Job::Update(r, old, change) => Box::pin(kinds::update(cx, r, old, change)).await,
            Job::Replace(r, old, renamed) => {
                if !renamed {
                    Box::pin(kinds::delete(cx, &r.id, old)).await?;
                }
                Box::pin(kinds::create(cx, r)).await
            }
        }
    }
}

/// Deletes every resource of this pipeline in `live`, dependents first.
pub async fn destroy(
    cx: &Cx<'_>,
    live: &Snapshot,
    progress: &dyn Progress,
) -> Result<usize, ApplyError> {
    let ours = live
        .resources
        .iter()
        .filter(|(_, l)| l.owner == stk_deploy::Owner::Pipeline)
        .collect();
    let mut done = 0;
    delete_all(cx, ours, progress, &mut done).await?;
    Ok(done)
}

/// Deletes in reverse kind order, each kind's resources in parallel.
async fn delete_all(
    cx: &Cx<'_>,
    mut deletes: Vec<(&ResourceId, &LiveResource)>,
    progress: &dyn Progress,
    done: &mut usize,
) -> Result<(), ApplyError> {
    deletes.sort_by(|a, b| b.0.kind.cmp(&a.0.kind).then(a.0.cmp(b.0)));
    for kind in Kind::ALL.iter().rev() {
        let steps: Vec<_> = deletes
            .iter()
            .filter(|(id, _)| id.kind == *kind)
            .map(|(id, old)| {
                let name = live_name(old).unwrap_or_default().to_string();
                async move {
                    run(id, &name, Step::Delete, progress, async || {
                        Box::pin(kinds::delete(cx, id, old)).await
                    })
                    .await
                }
            })
            .collect();
        settle(join_all(steps).await, done)?;
    }
    Ok(())
}

/// Counts a wave's successes; any failure stops the apply.
fn settle(
    results: Vec<(ResourceId, Result<(), AwsError>)>,
    done: &mut usize,
) -> Result<(), ApplyError> {
    let mut failed = Vec::new();
    for (id, r) in results {
        match r {
            Ok(()) => *done += 1,
            Err(e) => failed.push((id, e)),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(ApplyError::Steps {
            failed,
            done: *done,
        })
    }
}

/// One step with retries on throttling and IAM propagation, reported to `progress`.
async fn run<F>(
    id: &ResourceId,
    name: &str,
    step: Step,
    progress: &dyn Progress,
    f: F,
) -> (ResourceId, Result<(), AwsError>)
where
    F: AsyncFn() -> Result<(), AwsError>,
{
    progress.started(id, name, step);
    let start = Instant::now();
    let result = (|| f())
        .retry(backoff())
        .sleep(tokio::time::sleep)
        .when(AwsError::retryable)
        .notify(|e, wait| tracing::debug!(resource = %id, "retrying in {wait:?}: {e}"))
        .await;
    progress.finished(id, name, step, start.elapsed(), result.as_ref().err());
    (id.clone(), result)
}
