//! Property tests: no input makes the parser, checker or formatter panic, and the formatter
//! is idempotent on everything that parses. Inputs are random text, random token soup built
//! from the language's own vocabulary, and mutations of the shipped pipelines.
//! `PROPTEST_CASES` bounds the run (CI sets it).

mod common;

use proptest::prelude::*;
use stk_dsl::check::NoWorld;
use stk_dsl::{check_source, fmt};

const TOKENS: &[&str] = &[
    "pipeline",
    "source",
    "schema",
    "validate",
    "stream",
    "sink",
    "alert",
    "runtime",
    "rule",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    ":",
    "=",
    "==",
    "!=",
    "<",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "and",
    "or",
    "not",
    "true",
    "null",
    "x",
    "ts",
    "close",
    "symbol",
    "yahoo",
    "kinesis",
    "influxdb",
    "s3_json",
    "s3_parquet",
    "ec2",
    "glue",
    "5s",
    "1m",
    "24h",
    "1h30m",
    "5MiB",
    "1%",
    "0.5",
    "42",
    "\"AAPL\"",
    "\"a{b}\"",
    "/^[A-Z]+$/",
    "pct_change",
    "abs",
    "avg",
    "prev",
    "date",
    "secret",
    "email",
    "required",
    "optional",
    "matches",
    "string",
    "float64",
    "timestamp",
    "when",
    "per",
    "# c\n",
    "\n",
    " ",
];

fn exercise(src: &str) {
    let checked = check_source(src, &NoWorld);
    for d in &checked.diagnostics {
        assert!(
            d.span.start <= d.span.end && d.span.end <= src.len(),
            "span out of range: {d:?}"
        );
    }
    if let Ok(once) = fmt::format_source(src) {
        let twice = fmt::format_source(&once).expect("formatted output parses");
        assert_eq!(once, twice, "fmt not idempotent for {src:?}");
    }
}

proptest! {
    #[test]
    fn random_text_never_panics(src in "\\PC{0,200}") {
        exercise(&src);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..80)) {
        exercise(&tokens.join(" "));
    }

    #[test]
    fn mutated_pipelines_never_panic(
        which in 0usize..2,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, prop::sample::select(TOKENS)), 1..6),
    ) {
        let files = common::pipelines();
        let mut src = common::read(&files[which % files.len()]);
        for (at, op, tok) in edits {
            let mut i = at.index(src.len() + 1);
            while !src.is_char_boundary(i) { i -= 1; }
            match op {
                0 => src.insert_str(i, tok),
                1 => { let end = (i + tok.len()).min(src.len()); let mut end = end; while !src.is_char_boundary(end) { end -= 1; } src.replace_range(i..end, ""); }
                2 => { let end = (i + 1).min(src.len()); let mut end = end; while !src.is_char_boundary(end) { end += 1; } src.replace_range(i..end, tok); }
                _ => src.truncate(i),
            }
        }
        exercise(&src);
    }
}

#[test]
fn pathological_inputs_are_diagnostics() {
    for src in [
        "(".repeat(100_000),
        "alert a { when = ".to_string() + &"1 + ".repeat(5_000) + "1 }",
        "alert a { when = ".to_string() + &"not ".repeat(10_000) + "true }",
        "\"".repeat(3),
        "pipeline p { x = \"\\u{110000}\" }".to_string(),
        "\u{feff}pipeline p {}".to_string(),
        "\0".to_string(),
    ] {
        let checked = check_source(&src, &NoWorld);
        assert!(
            checked.has_errors(),
            "expected a diagnostic for {:?}",
            &src[..src.len().min(40)]
        );
    }
}
