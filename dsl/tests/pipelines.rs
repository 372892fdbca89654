//! Every pipeline shipped in `pipelines/` checks clean, is formatted, and its record schema
//! in `schemas/` is up to date.

mod common;

use stk_dsl::check::FsWorld;
use stk_dsl::{check_source, fmt};

#[test]
fn shipped_pipelines_check_clean() {
    let files = common::pipelines();
    assert!(files.len() >= 2);
    for path in files {
        let checked = check_source(&common::read(&path), &FsWorld::for_pipeline(&path));
        assert!(
            checked.diagnostics.is_empty(),
            "{}: {:#?}",
            path.display(),
            checked.diagnostics
        );
        assert!(checked.ir.is_some());
    }
}

#[test]
fn shipped_pipelines_are_formatted() {
    for path in common::pipelines() {
        let source = common::read(&path);
        let formatted = fmt::format_source(&source).expect("parses");
        assert_eq!(
            formatted,
            source,
            "{} is not formatted: run `stkc fmt {}`",
            path.display(),
            path.display()
        );
    }
}

#[test]
fn checked_in_schemas_are_up_to_date() {
    let root = common::repo_root();
    for path in common::pipelines() {
        let ir = check_source(&common::read(&path), &FsWorld::for_pipeline(&path))
            .ir
            .expect("valid");
        let want = serde_json::to_string_pretty(&stk_dsl::schema::json_schema(&ir)).unwrap() + "\n";
        let file = root.join("schemas").join(stk_dsl::schema::file_name(&ir));
        let have = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            have == want,
            "{} is out of date: run `stkc compile {} --emit schema --out schemas/`",
            file.display(),
            path.display()
        );
    }
}

#[test]
fn the_stocks_pipeline_lowers_to_the_full_model() {
    let path = common::repo_root().join("pipelines/stocks.stk");
    let ir = check_source(&common::read(&path), &FsWorld::for_pipeline(&path))
        .ir
        .expect("valid");
    assert_eq!(ir.name, "stocks");
    assert_eq!(ir.region, "eu-central-1");
    assert_eq!(ir.sources.len(), 1);
    assert_eq!(ir.schema.fields.len(), 9);
    assert_eq!(ir.validation.rules.len(), 2);
    let stream = ir.stream.as_ref().expect("stream");
    assert_eq!(
        (stream.retention_hours, stream.partition_key.as_str()),
        (24, "symbol")
    );
    assert_eq!(ir.sinks.len(), 3);
    let alert = &ir.alerts[0];
    assert_eq!(alert.lookback_ms, 60_000);
    assert_eq!(alert.cooldown_ms, 300_000);
    assert_eq!(alert.per, ["symbol"]);
    assert!(
        alert.value.is_some(),
        "the left-hand side is the firing's value"
    );
    assert!(ir.runtime.is_some());
    // The IR round-trips through JSON, as the packages ship it.
    let json = serde_json::to_string(&ir).unwrap();
    let back: stk_dsl::ir::Pipeline = serde_json::from_str(&json).unwrap();
    assert_eq!(back, ir);
}
