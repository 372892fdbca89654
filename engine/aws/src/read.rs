//! Reading the live account into a [`Snapshot`]: every resource of the desired graph by its
//! name, the pipeline's resources the graph no longer has (strays, found per kind by listing
//! and tags), and whether the secrets the file references exist. All reads run concurrently
//! on shared clients, so a plan costs about the slowest call, not their sum.

use crate::error::AwsError;
use crate::kinds::{self, Cx};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use stk_deploy::snapshot::Taken;
use stk_deploy::{Kind, LiveResource, Owner, ResourceId, Snapshot};

/// How many AWS calls are in flight at once (well under every service's rate limits).
const CONCURRENCY: usize = 24;

/// The live side of the diff for `cx.graph`.
pub async fn snapshot(cx: &Cx<'_>) -> Result<Snapshot, AwsError> {
    let graph = cx.graph;
    let desired = stream::iter(graph.resources.values())
        .map(|r| async move {
            Box::pin(kinds::read(cx, r))
                .await
                .map(|l| (r.id.clone(), l))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>();
    let strays = stream::iter(Kind::ALL)
        .map(|k| Box::pin(kinds::strays(cx, k)))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>();
    let externals = stream::iter(graph.externals.iter())
        .map(|e| async move {
            kinds::secrets::exists(cx, e)
                .await
                .map(|x| (e.key.clone(), x))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>();
    let (desired, strays, externals) = tokio::try_join!(desired, strays, externals)?;

    let mut snap = Snapshot {
        externals: externals.into_iter().collect(),
        ..Snapshot::default()
    };
    for (id, live) in desired {
        if let Some(l) = live {
            snap.resources.insert(id, l);
        }
    }
    for (id, live) in strays.into_iter().flatten() {
        place_stray(cx, &mut snap, id, live);
    }
    Ok(snap)
}

/// Puts a resource found by listing into the snapshot, unless it is one the graph already
/// read by name (same kind, same attributes). A stray whose id the graph has, when that
/// resource was not found under its desired name, is that resource under its old name (the
/// stream block renamed): it takes the graph's id, so the plan shows a replacement naming
/// `name` rather than a delete and a create; a stranger under the new name is then recorded
/// as [`Taken`]. Other strays keep their own id (made unique when it clashes).
fn place_stray(cx: &Cx<'_>, snap: &mut Snapshot, id: ResourceId, live: LiveResource) {
    if live.owner != Owner::Pipeline {
        return;
    }
    let known = snap
        .resources
        .iter()
        .any(|(k, l)| k.kind == id.kind && l.attributes == live.attributes);
    if known {
        return;
    }
    if let Some(desired) = cx.graph.get(&id) {
        let found = snap.resources.get(&id);
        if found.is_none_or(|l| l.owner != Owner::Pipeline) {
            if let Some(stranger) = snap.resources.remove(&id) {
                let taken = Taken {
                    name: desired.name.clone(),
                    owner: stranger.owner,
                };
                snap.taken.insert(id.clone(), taken);
            }
            snap.resources.insert(id, live);
            return;
        }
    }
    let mut unique = id.clone();
    let mut n = 1;
    while cx.graph.resources.contains_key(&unique) || snap.resources.contains_key(&unique) {
        n += 1;
        unique = ResourceId::new(id.kind, format!("{}~{n}", id.name));
    }
    snap.resources.insert(unique, live);
}
