//! The `stkc` binary as a user runs it: exit codes, output formats, and never exit 101.

use assert_cmd::Command;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stkc() -> Command {
    let mut c = Command::cargo_bin("stkc").expect("binary built");
    c.current_dir(root()).env("NO_COLOR", "1");
    c
}

fn write_tmp(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const BAD: &str = "pipeline p { region = \"mars-1\" }\nsource s: yahoo { symbols = [\"aapl\"]  every = 5s }\nschema q { ts: timestamp required  symbol: string required }\nruntime r: ec2 { instance_type = \"t4g.nano\"  ssh_from = \"0.0.0.0/0\" }\n";

#[test]
fn check_clean_pipeline_exits_0() {
    let out = stkc()
        .args(["check", "pipelines/stocks.stk"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 errors"));
}

#[test]
fn check_reports_every_error_with_position_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(&dir, "bad.stk", BAD);
    let out = stkc().arg("check").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    for code in ["stk::E0301", "stk::E0302", "stk::E0304"] {
        assert!(err.contains(code), "missing {code} in:\n{err}");
    }
    assert!(err.contains("bad.stk:1:23"), "no file:line:col in:\n{err}");
    assert!(err.contains("3 errors"), "{err}");
}

#[test]
fn check_json_is_one_object_per_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(&dir, "bad.stk", BAD);
    let out = stkc()
        .arg("check")
        .arg(&f)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect();
    assert_eq!(lines.len(), 3);
    let region = &lines[0];
    assert_eq!(region["code"], "stk::E0301");
    assert_eq!(region["severity"], "error");
    assert_eq!(
        (region["line"].as_u64(), region["column"].as_u64()),
        (Some(1), Some(23))
    );
    assert_eq!(
        (
            region["end"]["line"].as_u64(),
            region["end"]["column"].as_u64()
        ),
        (Some(1), Some(31))
    );
    assert!(region["help"].as_str().is_some());
    assert!(region["file"].as_str().unwrap().ends_with("bad.stk"));
}

#[test]
fn check_github_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(&dir, "bad.stk", BAD);
    let out = stkc()
        .arg("check")
        .arg(&f)
        .args(["--format", "github"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("::error file="), "{first}");
    assert!(first.contains(",line=1,col=23,"), "{first}");
    assert!(first.contains("title=stk%3A%3AE0301::"), "{first}");
    assert!(!first.contains('\n'));
}

#[test]
fn deny_warnings_turns_warnings_into_failure() {
    let dir = tempfile::tempdir().unwrap();
    let warn = "pipeline p { region = \"eu-west-1\" }\nsource s: yahoo { symbols = [\"AAPL\", \"AAPL\"]  every = 5s }\nschema q { ts: timestamp required  symbol: string required }\n";
    let f = write_tmp(&dir, "warn.stk", warn);
    stkc().arg("check").arg(&f).assert().code(0);
    stkc()
        .arg("check")
        .arg(&f)
        .args(["--deny", "warnings"])
        .assert()
        .code(1);
}

#[test]
fn unreadable_and_binary_inputs_are_errors_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin.stk");
    std::fs::write(&bin, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    let out = stkc()
        .arg("check")
        .arg(&bin)
        .arg("does/not/exist.stk")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not UTF-8"), "{err}");
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn fmt_check_passes_on_shipped_pipelines_and_fails_with_a_diff() {
    stkc()
        .args([
            "fmt",
            "--check",
            "pipelines/stocks.stk",
            "pipelines/demo.stk",
        ])
        .assert()
        .code(0);
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(&dir, "ugly.stk", "pipeline p {region=\"eu-west-1\"}\n");
    let out = stkc().arg("fmt").arg("--check").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(
        diff.contains("-pipeline p {region=\"eu-west-1\"}")
            && diff.contains("+  region = \"eu-west-1\""),
        "{diff}"
    );
    stkc().arg("fmt").arg(&f).assert().code(0);
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "pipeline p {\n  region = \"eu-west-1\"\n}\n"
    );
    stkc().arg("fmt").arg("--check").arg(&f).assert().code(0);
}

#[test]
fn compile_emits_the_ir_as_json_and_yaml() {
    let out = stkc()
        .args(["compile", "pipelines/stocks.stk", "--emit", "ir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let ir: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ir["name"], "stocks");
    assert_eq!(ir["stream"]["retention_hours"], 24);
    assert_eq!(ir["alerts"][0]["when"]["type"], "bool");
    let out = stkc()
        .args([
            "compile",
            "pipelines/stocks.stk",
            "--emit",
            "ir",
            "--format",
            "yaml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let y: serde_yaml::Value = serde_yaml::from_slice(&out.stdout).unwrap();
    assert_eq!(y["name"].as_str(), Some("stocks"));
}

#[test]
fn compile_refuses_a_pipeline_with_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(&dir, "bad.stk", BAD);
    stkc().arg("compile").arg(&f).assert().code(1);
}

#[test]
fn usage_errors_and_explain() {
    stkc().args(["check"]).assert().code(2);
    stkc()
        .args(["check", "--format", "xml", "x.stk"])
        .assert()
        .code(2);
    let out = stkc().args(["explain", "E0304"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("SSH"));
    stkc().args(["explain", "E9999"]).assert().code(1);
    stkc().args(["completions", "bash"]).assert().code(0);
}

#[test]
fn every_subcommand_help_has_an_example() {
    for sub in [
        "check",
        "fmt",
        "compile",
        "run",
        "query",
        "backtest",
        "init",
        "explain",
        "completions",
    ] {
        let out = stkc().args([sub, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Examples:\n  stkc "),
            "`stkc {sub} --help` has no example"
        );
    }
}

#[test]
fn the_bundled_demo_data_is_what_the_generator_makes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ticks.jsonl");
    stkc()
        .args(["demo-data", "--out"])
        .arg(&out)
        .assert()
        .code(0);
    let made = std::fs::read(&out).unwrap();
    let shipped = std::fs::read(root().join("pipelines/demo/ticks.jsonl")).unwrap();
    assert!(
        made == shipped,
        "pipelines/demo/ticks.jsonl differs from `stkc demo-data` output; regenerate it"
    );
}

#[test]
fn init_writes_a_pipeline_that_checks_clean_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    stkc()
        .args(["init", "starter", "--dir"])
        .arg(dir.path())
        .assert()
        .code(0);
    let file = dir.path().join("starter.stk");
    stkc()
        .arg("check")
        .arg("--deny")
        .arg("warnings")
        .arg(&file)
        .assert()
        .code(0);
    stkc().arg("fmt").arg("--check").arg(&file).assert().code(0);
    let out = stkc()
        .arg("run")
        .arg(&file)
        .arg("--lake")
        .arg(dir.path().join("lake"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ALERT move_1pct"),
        "the starter's alert fires"
    );
    // Never overwrites.
    stkc()
        .args(["init", "starter", "--dir"])
        .arg(dir.path())
        .assert()
        .code(1);
    stkc().args(["init", "Bad-Name"]).assert().code(1);
}

/// `stkc package` twice gives identical zips, and the bootstrap they hold needs no glibc newer
/// than Lambda's provided.al2023 has (2.34), checked with objdump where it is installed.
#[test]
fn package_is_reproducible_and_fits_provided_al2023() {
    let stkc_bin = PathBuf::from(env!("CARGO_BIN_EXE_stkc"));
    let bootstrap = stkc_bin.with_file_name("bootstrap");
    if !bootstrap.is_file() {
        eprintln!(
            "SKIPPED: no bootstrap beside stkc; build the workspace (cargo build --workspace)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // stocks.stk's scraper runs on a t4g (arm64): the host's x86_64 stk-scraper is refused,
    // a stand-in with an aarch64 ELF header is taken.
    let x86 = stkc()
        .args(["package", "pipelines/stocks.stk", "--out"])
        .arg(dir.path().join("x86"))
        .arg("--bootstrap")
        .arg(&bootstrap)
        .arg("--scraper")
        .arg(&bootstrap)
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&x86.get_output().stderr).into_owned();
    assert!(stderr.contains("is not an aarch64 executable"), "{stderr}");
    let scraper = dir.path().join("stk-scraper-arm64");
    let mut elf = vec![0u8; 64];
    elf[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    elf[18] = 0xb7;
    std::fs::write(&scraper, &elf).unwrap();
    let mut zips = Vec::new();
    for run in ["a", "b"] {
        let out = dir.path().join(run);
        stkc()
            .args(["package", "pipelines/stocks.stk", "--out"])
            .arg(&out)
            .arg("--bootstrap")
            .arg(&bootstrap)
            .arg("--scraper")
            .arg(&scraper)
            .assert()
            .success();
        let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
        assert_eq!(sums.lines().count(), 4, "{sums}");
        assert!(sums.contains("  stk-scraper\n"), "{sums}");
        assert_eq!(std::fs::read(out.join("stk-scraper")).unwrap(), elf);
        zips.push((std::fs::read(out.join("transform.zip")).unwrap(), sums));
    }
    assert_eq!(zips[0], zips[1], "the same inputs give the same bytes");
    match std::process::Command::new("objdump")
        .arg("-T")
        .arg(&bootstrap)
        .output()
    {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let newest = text
                .split(|c: char| c.is_whitespace() || c == '(' || c == ')')
                .filter_map(|w| w.strip_prefix("GLIBC_"))
                .filter_map(|v| {
                    let mut p = v.split('.').map(|x| x.parse::<u32>().ok());
                    Some((p.next()??, p.next()??))
                })
                .max()
                .expect("a dynamically linked bootstrap names glibc versions");
            assert!(newest <= (2, 34), "the bootstrap needs glibc {newest:?}");
        }
        _ => eprintln!("note: objdump not installed; stkc package's own glibc check ran"),
    }
}
