//! The formatter over every test input: idempotent, keeps every comment, and never changes
//! meaning (the formatted file lowers to the same IR and the same diagnostic codes).

mod common;

use stk_dsl::check::NoWorld;
use stk_dsl::{check_source, fmt};

fn all_inputs() -> Vec<std::path::PathBuf> {
    let mut v = common::pipelines();
    v.extend(common::diagnostics_inputs());
    v
}

#[test]
fn formatting_is_idempotent_and_meaning_preserving() {
    let mut checked_files = 0;
    for path in all_inputs() {
        let source = common::read(&path);
        let Ok(once) = fmt::format_source(&source) else {
            continue;
        };
        let twice = fmt::format_source(&once).unwrap_or_else(|d| {
            panic!("{}: formatted output does not parse: {d:?}", path.display())
        });
        assert_eq!(once, twice, "{}: fmt is not idempotent", path.display());

        let before = check_source(&source, &NoWorld);
        let after = check_source(&once, &NoWorld);
        assert_eq!(
            before.ir,
            after.ir,
            "{}: formatting changed the IR",
            path.display()
        );
        let codes = |c: &stk_dsl::Checked| c.diagnostics.iter().map(|d| d.code).collect::<Vec<_>>();
        assert_eq!(
            codes(&before),
            codes(&after),
            "{}: formatting changed the diagnostics",
            path.display()
        );

        let comments = |s: &str| {
            stk_dsl::syntax::parse(s)
                .map(|f| f.comments.into_iter().map(|c| c.text).collect::<Vec<_>>())
        };
        assert_eq!(
            comments(&source).ok(),
            comments(&once).ok(),
            "{}: comments changed",
            path.display()
        );
        checked_files += 1;
    }
    assert!(checked_files >= 2);
}
