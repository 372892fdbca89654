//! The plan as data: per resource an action with the attributes that change (before and
//! after, and which force a replacement), data-impact notes, the IAM statement changes, and
//! the summary. Its JSON (`stkc plan --json`, the saved plan file) is the stable contract;
//! [`crate::render`] only presents it. Computed by [`crate::diff::diff`].

use crate::iam::{Effect, StatementRow};
use crate::impact::Impact;
use crate::resource::ResourceId;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bumped when the JSON shape changes incompatibly.
pub const PLAN_FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    /// Changed in place.
    Update,
    /// Deleted and created again (or created anew, then the old one deleted).
    Replace,
    Delete,
    NoOp,
}

impl Action {
    /// Terraform's symbols: `+`, `~`, `-/+`, `-`; a no-op has none.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::NoOp => " ",
        }
    }
}

/// One attribute that differs. `None` is absent (a create has no before, a delete no after).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrChange {
    pub attribute: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub forces_replacement: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub id: ResourceId,
    /// The AWS name after the change (before it, for a delete).
    pub name: String,
    pub action: Action,
    /// The attributes that force a replacement (empty unless `action` is `replace`).
    pub forced_by: Vec<String>,
    pub changes: Vec<AttrChange>,
    /// What the change does to data or to the running pipeline.
    pub impacts: Vec<Impact>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IamChangeKind {
    Added,
    Removed,
}

/// A row of the "IAM statement changes" table; ordered by principal, action and resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IamChange {
    pub principal: String,
    pub action: String,
    pub resource: String,
    pub effect: Effect,
    pub condition: Option<String>,
    pub change: IamChangeKind,
}

impl IamChange {
    pub fn new(change: IamChangeKind, row: StatementRow) -> IamChange {
        IamChange {
            change,
            principal: row.principal,
            effect: row.effect,
            action: row.action,
            resource: row.resource,
            condition: row.condition,
        }
    }
}

/// The counts of the summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
}

impl Summary {
    pub fn of(changes: &[ResourceChange]) -> Summary {
        let mut s = Summary::default();
        for c in changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.destroy += 1,
                Action::NoOp => {}
            }
        }
        s
    }

    pub fn total(&self) -> usize {
        self.add + self.change + self.replace + self.destroy
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub pipeline: String,
    pub account_id: String,
    pub region: String,
    /// [`crate::Snapshot::fingerprint`] of the live state the plan was made from.
    pub live_fingerprint: String,
    pub summary: Summary,
    pub iam_changes: Vec<IamChange>,
    /// Desired statements that allow an action on `"*"` (AWS offers nothing narrower).
    pub wildcard_resources: Vec<StatementRow>,
    /// Every resource of the graph and every one of ours the file no longer names, no-ops
    /// included, sorted by id.
    pub resources: Vec<ResourceChange>,
    pub warnings: Vec<String>,
}

impl Plan {
    /// Whether applying it would change anything (`--detailed-exitcode` exits 2 if so).
    pub fn has_changes(&self) -> bool {
        self.summary.total() > 0
    }

    /// The changes that do something.
    pub fn actions(&self) -> impl Iterator<Item = &ResourceChange> {
        self.resources.iter().filter(|c| c.action != Action::NoOp)
    }

    pub fn change(&self, id: &ResourceId) -> Option<&ResourceChange> {
        self.resources.iter().find(|c| c.id == *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Kind;

    fn change(action: Action) -> ResourceChange {
        ResourceChange {
            id: ResourceId::new(Kind::SnsTopic, "alerts"),
            name: "stk-stocks-alerts".into(),
            action,
            forced_by: Vec::new(),
            changes: Vec::new(),
            impacts: Vec::new(),
        }
    }

    #[test]
    fn the_summary_counts_each_action_and_not_no_ops() {
        let all = [
            Action::Create,
            Action::Create,
            Action::Update,
            Action::Replace,
            Action::Delete,
            Action::NoOp,
        ]
        .map(change);
        let s = Summary::of(&all);
        assert_eq!((s.add, s.change, s.replace, s.destroy), (2, 1, 1, 1));
        assert_eq!(s.total(), 5);
        assert_eq!(Summary::of(&[change(Action::NoOp)]).total(), 0);
    }

    #[test]
    fn terraforms_symbols() {
        let symbols = [
            Action::Create,
            Action::Update,
            Action::Replace,
            Action::Delete,
        ]
        .map(Action::symbol);
        assert_eq!(symbols, ["+", "~", "-/+", "-"]);
    }
}
