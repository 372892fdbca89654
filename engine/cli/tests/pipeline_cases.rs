//! `stkc test`: the shipped cases of pipelines/stocks.stk pass; a broken expectation fails
//! with a diff that names the case and shows expected against actual; an unreadable cases
//! file is exit 2 with its line.

use assert_cmd::Command;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stkc_test(cases: Option<&std::path::Path>) -> (Option<i32>, String, String) {
    let mut cmd = Command::cargo_bin("stkc").unwrap();
    cmd.current_dir(root())
        .args(["test", "pipelines/stocks.stk"]);
    if let Some(c) = cases {
        cmd.arg("--cases").arg(c);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn the_shipped_cases_pass() {
    let (code, stdout, stderr) = stkc_test(None);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("ok: 11 cases, 11 passed, 0 failed"),
        "{stdout}"
    );
}

#[test]
fn a_broken_case_fails_with_a_readable_diff() {
    let shipped = std::fs::read_to_string(root().join("pipelines/stocks.tests.yaml")).unwrap();
    let broken = shipped.replacen(
        "- { outcome: rejected, rule: range }",
        "- { outcome: rejected, rule: positive }",
        1,
    );
    assert_ne!(broken, shipped);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, broken).unwrap();
    let (code, stdout, _) = stkc_test(Some(&path));
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("FAILED  rule range - high below low is a dead letter"),
        "{stdout}"
    );
    assert!(stdout.contains("  -   rule: positive"), "{stdout}");
    assert!(stdout.contains("  +   rule: range"), "{stdout}");
    assert!(stdout.contains("10 passed, 1 failed"), "{stdout}");
}

#[test]
fn an_unreadable_cases_file_is_exit_2_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "cases:\n  - name: x\n    input: []\n    expect: { recrods: [] }\n",
    )
    .unwrap();
    let (code, _, stderr) = stkc_test(Some(&path));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("line 4"), "{stderr}");
    assert!(stderr.contains("recrods"), "{stderr}");

    let (code, _, stderr) = stkc_test(Some(&dir.path().join("missing.yaml")));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--cases"), "{stderr}");
}
