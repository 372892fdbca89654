//! Presenting a plan: the human view in the style people know from Terraform (`+` create,
//! `~` update, `-/+` replace, `-` delete, the IAM statement changes before the resources, the
//! summary line last), coloured only when asked (`NO_COLOR` respected by [`Style::detect`]);
//! and the JSON form, which is the stable contract. Computing the plan is not done here.

use crate::impact::ImpactLevel;
use crate::plan::{Action, AttrChange, IamChangeKind, Plan, ResourceChange, Summary};
use serde_json::Value;
use std::ffi::OsStr;
use std::fmt::Write as _;

/// Attributes that hold policy documents: their statements are in the IAM table already.
const POLICY_ATTRIBUTES: &[&str] = &["document", "assume_role_policy", "policy"];
/// Values longer than this are printed as indented, pretty JSON.
const INLINE_MAX: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn plain() -> Style {
        Style { color: false }
    }

    /// Colour when writing to a terminal, unless `NO_COLOR` is set to anything but the empty
    /// string (no-color.org).
    pub fn detect(is_terminal: bool, no_color: Option<&OsStr>) -> Style {
        Style {
            color: is_terminal && no_color.is_none_or(OsStr::is_empty),
        }
    }

    /// [`Style::detect`] with this process's `NO_COLOR`.
    pub fn from_env(is_terminal: bool) -> Style {
        Style::detect(is_terminal, std::env::var_os("NO_COLOR").as_deref())
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

const BOLD: &str = "1";
const RED: &str = "31";
const GREEN: &str = "32";
const YELLOW: &str = "33";
const MAGENTA: &str = "35";

fn action_color(a: Action) -> &'static str {
    match a {
        Action::Create => GREEN,
        Action::Update => YELLOW,
        Action::Replace => MAGENTA,
        Action::Delete => RED,
        Action::NoOp => "0",
    }
}

/// `Plan: N to add, N to change, N to replace, N to destroy.`
pub fn summary_line(s: &Summary) -> String {
    format!(
        "Plan: {} to add, {} to change, {} to replace, {} to destroy.",
        s.add, s.change, s.replace, s.destroy
    )
}

/// The JSON form (`stkc plan --json`, the plan file): pretty, with a final newline.
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_default() + "\n"
}

/// The human form.
pub fn human(plan: &Plan, style: Style) -> String {
    let title = format!(
        "Pipeline `{}` in account {}, {}",
        plan.pipeline, plan.account_id, plan.region
    );
    let mut out = style.paint(BOLD, &title);
    out.push_str("\n\n");
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "{}", style.paint(BOLD, "Warnings:"));
        for w in &plan.warnings {
            let _ = writeln!(out, "  {} {w}", style.paint(YELLOW, "!"));
        }
        out.push('\n');
    }
    iam_table(&mut out, plan, style);
    if !plan.has_changes() {
        out.push_str("No changes: the account matches the file.\n\n");
    } else {
        for c in plan.actions() {
            resource(&mut out, c, style);
        }
    }
    let _ = writeln!(out, "{}", style.paint(BOLD, &summary_line(&plan.summary)));
    out
}

fn iam_table(out: &mut String, plan: &Plan, style: Style) {
    if !plan.iam_changes.is_empty() {
        let _ = writeln!(out, "{}", style.paint(BOLD, "IAM statement changes:"));
        let rows: Vec<[String; 5]> = plan
            .iam_changes
            .iter()
            .map(|c| {
                let sign = match c.change {
                    IamChangeKind::Added => "+",
                    IamChangeKind::Removed => "-",
                };
                let condition = c
                    .condition
                    .as_ref()
                    .map_or_else(String::new, |c| format!("when {c}"));
                [
                    sign.to_string(),
                    c.principal.clone(),
                    format!("{:?}", c.effect),
                    c.action.clone(),
                    format!("{} {condition}", c.resource).trim_end().to_string(),
                ]
            })
            .collect();
        let header = [
            String::new(),
            "principal".to_string(),
            "effect".to_string(),
            "action".to_string(),
            "resource".to_string(),
        ];
        table(out, &header, &rows, |row| {
            let color = if row[0] == "+" { GREEN } else { RED };
            style.paint(color, &row[0])
        });
        out.push('\n');
    }
    if !plan.wildcard_resources.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            style.paint(BOLD, "Allowed on \"*\" (AWS offers nothing narrower):")
        );
        for w in &plan.wildcard_resources {
            let _ = writeln!(out, "  {} {} {}", w.principal, w.action, w.resource);
        }
        out.push('\n');
    }
}

/// Columns padded to their widest cell; the first column painted by `first`.
fn table(
    out: &mut String,
    header: &[String; 5],
    rows: &[[String; 5]],
    first: impl Fn(&[String; 5]) -> String,
) {
    let mut width = [0usize; 5];
    for r in std::iter::once(header).chain(rows) {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let _ = writeln!(
        out,
        "  {}  {}  {}  {}  {}",
        pad(&header[0], width[0]),
        pad(&header[1], width[1]),
        pad(&header[2], width[2]),
        pad(&header[3], width[3]),
        header[4]
    );
    for r in rows {
        let sign = first(r);
        let sign_pad = " ".repeat(width[0].saturating_sub(r[0].chars().count()));
        let _ = writeln!(
            out,
            "  {sign}{sign_pad}  {}  {}  {}  {}",
            pad(&r[1], width[1]),
            pad(&r[2], width[2]),
            pad(&r[3], width[3]),
            r[4]
        );
    }
}

/// `cell` padded with spaces to `w` characters.
fn pad(cell: &str, w: usize) -> String {
    format!(
        "{cell}{}",
        " ".repeat(w.saturating_sub(cell.chars().count()))
    )
}

fn resource(out: &mut String, c: &ResourceChange, style: Style) {
    let what = match c.action {
        Action::Create => "will be created".to_string(),
        Action::Update => "will be updated in place".to_string(),
        Action::Replace => format!(
            "must be replaced ({} {} replacement)",
            c.forced_by.join(", "),
            if c.forced_by.len() == 1 {
                "forces"
            } else {
                "force"
            }
        ),
        Action::Delete => "will be destroyed".to_string(),
        Action::NoOp => "is up to date".to_string(),
    };
    let color = action_color(c.action);
    let _ = writeln!(
        out,
        "{} {} ({}) {what}",
        style.paint(color, &format!("{:>3}", c.action.symbol())),
        style.paint(BOLD, &c.id.to_string()),
        c.name
    );
    if c.action != Action::Delete {
        for a in &c.changes {
            attribute(out, c.action, a, style);
        }
    }
    for i in &c.impacts {
        let (label, color) = match i.level {
            ImpactLevel::DataLoss => ("data loss", RED),
            ImpactLevel::Orphaned => ("orphaned data", YELLOW),
            ImpactLevel::Interruption => ("interruption", YELLOW),
            ImpactLevel::Notice => ("note", "0"),
        };
        let _ = writeln!(
            out,
            "      {} {}",
            style.paint(color, &format!("! {label}:")),
            i.note
        );
    }
    out.push('\n');
}

fn attribute(out: &mut String, action: Action, a: &AttrChange, style: Style) {
    let indent = "      ";
    if POLICY_ATTRIBUTES.contains(&a.attribute.as_str()) {
        let sign = if action == Action::Create { "+" } else { "~" };
        let _ = writeln!(
            out,
            "{indent}{} {} (policy: see the IAM statement changes)",
            style.paint(action_color(action), sign),
            a.attribute
        );
        return;
    }
    let forces = if a.forces_replacement {
        style.paint(RED, "  # forces replacement")
    } else {
        String::new()
    };
    match (&a.before, &a.after) {
        (None, Some(after)) => {
            let _ = writeln!(
                out,
                "{indent}{} {} = {}",
                style.paint(GREEN, "+"),
                a.attribute,
                value(after, indent)
            );
        }
        (before, after) => {
            let (b, f) = (
                before
                    .as_ref()
                    .map_or_else(|| "(none)".to_string(), |v| value(v, indent)),
                after
                    .as_ref()
                    .map_or_else(|| "(none)".to_string(), |v| value(v, indent)),
            );
            let sign = style.paint(YELLOW, "~");
            if b.contains('\n') || f.contains('\n') {
                let _ = writeln!(out, "{indent}{sign} {}:{forces}", a.attribute);
                let _ = writeln!(out, "{indent}    - {b}");
                let _ = writeln!(out, "{indent}    + {f}");
            } else {
                let _ = writeln!(out, "{indent}{sign} {}: {b} -> {f}{forces}", a.attribute);
            }
        }
    }
}

/// Compact JSON, or pretty JSON indented under the attribute when long.
fn value(v: &Value, indent: &str) -> String {
    let compact = v.to_string();
    if compact.chars().count() <= INLINE_MAX || !(v.is_object() || v.is_array()) {
        return compact;
    }
    let pretty = serde_json::to_string_pretty(v).unwrap_or(compact);
    pretty.replace('\n', &format!("\n{indent}      "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::diff;
    use crate::snapshot::Snapshot;
    use crate::testutil::{self, STOCKS};

    fn plan(before: &str, after: &str) -> Plan {
        let live = Snapshot::converged(&testutil::graph(before));
        diff(&testutil::graph(after), &live).unwrap()
    }

    #[test]
    fn the_summary_line_is_exact() {
        let s = Summary {
            add: 1,
            change: 2,
            replace: 3,
            destroy: 4,
        };
        assert_eq!(
            summary_line(&s),
            "Plan: 1 to add, 2 to change, 3 to replace, 4 to destroy."
        );
    }

    #[test]
    fn a_replace_names_its_forcing_attribute_and_the_iam_table_comes_first() {
        let p = plan(
            STOCKS,
            &testutil::edited("stream ticks: kinesis", "stream prices: kinesis"),
        );
        let text = human(&p, Style::plain());
        assert!(!text.contains('\x1b'));
        assert!(
            text.contains("-/+ kinesis_stream.stream (stk-stocks-prices) must be replaced (name forces replacement)"),
            "{text}"
        );
        assert!(
            text.contains(
                "~ name: \"stk-stocks-ticks\" -> \"stk-stocks-prices\"  # forces replacement"
            ),
            "{text}"
        );
        assert!(text.contains("! data loss:"), "{text}");
        let iam = text.find("IAM statement changes:").unwrap();
        let first_resource = text.find("-/+ ").unwrap();
        assert!(iam < first_resource);
        assert!(text.contains("role/stk-stocks-scraper"), "{text}");
        assert!(
            // The changes: three role policies and the scraper's compiled pipeline.
            text.ends_with("Plan: 0 to add, 4 to change, 3 to replace, 0 to destroy.\n"),
            "{text}"
        );
    }

    #[test]
    fn updates_creates_and_deletes_use_terraforms_symbols() {
        let p = plan(STOCKS, &testutil::edited("shards = 1", "shards = 2"));
        let text = human(&p, Style::plain());
        assert!(text.contains("  ~ kinesis_stream.stream (stk-stocks-ticks) will be updated in place\n      ~ shard_count: 1 -> 2\n"), "{text}");
        let two = testutil::edited(
            "notify = email(\"alerts@example.com\")",
            "notify = [email(\"alerts@example.com\"), email(\"oncall@example.com\")]",
        );
        let text = human(&plan(STOCKS, &two), Style::plain());
        assert!(
            text.contains(
                "  + sns_subscription.oncall@example.com (oncall@example.com) will be created"
            ),
            "{text}"
        );
        let text = human(&plan(&two, STOCKS), Style::plain());
        assert!(
            text.contains(
                "  - sns_subscription.oncall@example.com (oncall@example.com) will be destroyed"
            ),
            "{text}"
        );
        // The compiled pipeline the scraper loads changes with every edit.
        assert!(
            text.ends_with("Plan: 0 to add, 1 to change, 0 to replace, 1 to destroy.\n"),
            "{text}"
        );
    }

    #[test]
    fn no_changes_says_so() {
        let text = human(&plan(STOCKS, STOCKS), Style::plain());
        assert!(text.contains("No changes"), "{text}");
        assert!(text.ends_with("Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy.\n"));
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(Style::detect(true, None).color);
        assert!(Style::detect(true, Some(OsStr::new(""))).color);
        assert!(!Style::detect(true, Some(OsStr::new("1"))).color);
        assert!(!Style::detect(false, None).color);
        let p = plan(STOCKS, &testutil::edited("shards = 1", "shards = 2"));
        assert!(human(&p, Style { color: true }).contains("\x1b[33m"));
    }

    #[test]
    fn the_json_form_round_trips() {
        let p = plan(STOCKS, &testutil::edited("shards = 1", "shards = 2"));
        let text = json(&p);
        assert!(text.ends_with("}\n"));
        let back: Plan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        let v: Value = serde_json::from_str(&text).unwrap();
        // The stream and the scraper's compiled pipeline.
        assert_eq!(v["summary"]["change"], 2);
        assert_eq!(v["resources"][0]["id"], "iam_role.compact");
    }
}
