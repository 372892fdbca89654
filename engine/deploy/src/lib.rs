//! The pure half of `stkc plan` / `apply` / `destroy`: a pipeline's AWS resource graph, its
//! least-privilege IAM, the diff of that graph against a snapshot of the live account, and the
//! plan's renderers. Nothing here calls AWS; the SDK crate reads a [`Snapshot`] and carries out
//! a [`Plan`], so everything that decides *what* to do is testable without an account.
//!
//! The pipeline of types:
//!
//! ```text
//! ir::Pipeline + Context --graph::desired--> Graph --diff::diff(graph, snapshot)--> Plan
//!                                              |                                     |
//!                          iam::deployer_policy (stkc plan --deployer-policy)   render::human
//!                          Graph::apply_waves / destroy_waves (apply order)     render::json
//! ```
//!
//! Every resource has a stable [`ResourceId`] (kind and logical name), a deterministic AWS
//! name ([`names`]), its desired attributes in the normalised shape the live reader produces
//! too ([`resource`]), and explicit dependency edges; the role policies are derived from the
//! graph's access edges ([`graph::Grant`]), so a permission exists exactly when a resource
//! needs it. See `docs/design/deploy.md`.

pub mod diff;
pub mod graph;
pub mod iam;
pub mod impact;
pub mod names;
pub mod partition;
pub mod plan;
pub mod render;
pub mod resource;
pub mod snapshot;

pub use diff::{Conflict, DiffError, destroy, diff};
pub use graph::{Context, Graph, GraphError, desired};
pub use plan::{Action, AttrChange, IamChange, Plan, ResourceChange, Summary};
pub use resource::{Attrs, Kind, Resource, ResourceId, Spec, Tags};
pub use snapshot::{LiveResource, Owner, Snapshot};

#[cfg(test)]
pub(crate) mod testutil {
    //! The shipped pipeline and the context the unit tests plan it in.

    use crate::graph::{Context, Graph, desired};
    use stk_dsl::ir::Pipeline;

    pub const STOCKS: &str = include_str!("../../../pipelines/stocks.stk");
    pub const ACCOUNT: &str = "123456789012";
    pub const REGION: &str = "eu-central-1";

    pub fn ir(source: &str) -> Pipeline {
        let checked = stk_dsl::check_source(source, &stk_dsl::check::NoWorld);
        match checked.ir {
            Some(ir) => ir,
            None => panic!(
                "the test pipeline does not check: {:#?}",
                checked.diagnostics
            ),
        }
    }

    pub fn ctx() -> Context {
        Context::new(
            ACCOUNT,
            REGION,
            "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
            "#cloud-config\n# placeholder user data\n",
        )
        .with_scraper("kJd1Yk0E3xNnS2Fu2N2Ks4ZTv4AqlYSmUWlU3p4OJ3E=")
    }

    pub fn graph(source: &str) -> Graph {
        match desired(&ir(source), &ctx()) {
            Ok(g) => g,
            Err(e) => panic!("no graph: {e}"),
        }
    }

    /// The shipped pipeline with one edit, which must apply exactly once.
    pub fn edited(from: &str, to: &str) -> String {
        assert_eq!(
            STOCKS.matches(from).count(),
            1,
            "`{from}` must occur once in stocks.stk"
        );
        STOCKS.replacen(from, to, 1)
    }
}
