//! Golden tests of the checker: every `tests/diagnostics/*.stk` file names the codes it must
//! produce in its first line (`# expect: E0304`), and its rendered report is snapshotted
//! (`tests/diagnostics/snapshots/`). Every code in the registry must be exercised.

mod common;

use std::collections::BTreeSet;
use stk_dsl::check::FsWorld;
use stk_dsl::diag::{HumanStyle, render_human};
use stk_dsl::{Code, check_source};

fn expected_codes(source: &str, file: &str) -> BTreeSet<String> {
    let first = source.lines().next().unwrap_or("");
    let list = first
        .strip_prefix("# expect:")
        .unwrap_or_else(|| panic!("{file}: first line must be `# expect: CODE[, CODE]`"));
    list.split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

#[test]
fn every_input_gets_exactly_its_expected_diagnostics() {
    let inputs = common::diagnostics_inputs();
    assert!(inputs.len() >= 40, "only {} golden inputs", inputs.len());
    let mut failures = Vec::new();
    for path in &inputs {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let source = common::read(path);
        let world = FsWorld {
            base: common::repo_root().join("tests/diagnostics"),
        };
        let checked = check_source(&source, &world);
        let got: BTreeSet<String> = checked
            .diagnostics
            .iter()
            .map(|d| d.code.id().to_string())
            .collect();
        let want = expected_codes(&source, &name);
        if got != want {
            failures.push(format!("{name}: expected {want:?}, got {got:?}"));
        }
        let report = render_human(
            &format!("tests/diagnostics/{name}"),
            &source,
            &checked.diagnostics,
            HumanStyle::Ascii,
        );
        insta::with_settings!({
            snapshot_path => "../../tests/diagnostics/snapshots",
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(name.trim_end_matches(".stk"), report);
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_code_is_exercised_by_a_golden_input() {
    let mut seen = BTreeSet::new();
    for path in common::diagnostics_inputs() {
        let source = common::read(&path);
        seen.extend(expected_codes(&source, &path.display().to_string()));
    }
    let missing: Vec<&str> = Code::ALL
        .iter()
        .map(|c| c.id())
        .filter(|c| !seen.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a golden input: {missing:?}"
    );
}

#[test]
fn every_diagnostic_has_a_position_label_and_help() {
    for path in common::diagnostics_inputs() {
        let source = common::read(&path);
        for d in check_source(&source, &stk_dsl::check::NoWorld).diagnostics {
            assert!(
                d.span.end <= source.len(),
                "{}: span past the end",
                path.display()
            );
            assert!(
                d.help.as_deref().is_some_and(|h| !h.is_empty()),
                "{}: {} has no help",
                path.display(),
                d.code
            );
            assert!(!d.message.is_empty());
        }
    }
}
