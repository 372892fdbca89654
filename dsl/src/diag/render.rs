//! Printing diagnostics: miette's graphical report for people, one JSON object per
//! diagnostic for tools, and GitHub Actions workflow commands for pull-request annotations.

use super::{Diagnostic, Severity};
#[cfg(feature = "render")]
use crate::syntax::span::Span;
use crate::syntax::span::line_col;
#[cfg(feature = "render")]
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;
#[cfg(feature = "render")]
use std::fmt;

#[cfg(feature = "render")]
/// How the human report is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HumanStyle {
    /// Unicode box drawing and colour.
    Color,
    /// Unicode box drawing, no colour (what `NO_COLOR` asks for).
    NoColor,
    /// Plain ASCII, no colour: stable across terminals, used by the golden tests.
    Ascii,
}

#[cfg(feature = "render")]
struct Report<'a> {
    diag: &'a Diagnostic,
    source: &'a NamedSource<String>,
}

#[cfg(feature = "render")]
impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}
#[cfg(feature = "render")]
impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diag.message)
    }
}
#[cfg(feature = "render")]
impl std::error::Error for Report<'_> {}

#[cfg(feature = "render")]
impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diag.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = |text: &str, span: Span, primary: bool| {
            let text = (!text.is_empty()).then(|| text.to_string());
            if primary {
                LabeledSpan::new_primary_with_span(text, span)
            } else {
                LabeledSpan::new_with_span(text, span)
            }
        };
        let mut labels = vec![label(&self.diag.label, self.diag.span, true)];
        labels.extend(self.diag.related.iter().map(|(s, t)| label(t, *s, false)));
        Some(Box::new(labels.into_iter()))
    }
}

#[cfg(feature = "render")]
/// The human report for all diagnostics of one file.
pub fn render_human(file: &str, source: &str, diags: &[Diagnostic], style: HumanStyle) -> String {
    let named = NamedSource::new(file, source.to_string());
    let theme = match style {
        HumanStyle::Color => GraphicalTheme::unicode(),
        HumanStyle::NoColor => GraphicalTheme::unicode_nocolor(),
        HumanStyle::Ascii => GraphicalTheme {
            characters: miette::ThemeCharacters::ascii(),
            styles: miette::ThemeStyles::none(),
        },
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for diag in diags {
        let report = Report {
            diag,
            source: &named,
        };
        if handler.render_report(&mut out, &report).is_err() {
            // miette only fails on a formatter error; fall back to the one-line form.
            out.push_str(&one_line(file, source, diag));
        }
        out.push('\n');
    }
    out
}

#[cfg(feature = "render")]
fn one_line(file: &str, source: &str, d: &Diagnostic) -> String {
    let (line, col) = line_col(source, d.span.start);
    format!(
        "{file}:{line}:{col}: {:?} [{}] {}\n",
        d.severity, d.code, d.message
    )
}

/// The stable JSON form of a diagnostic (`stkc check --format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: String,
    pub severity: Severity,
    pub message: &'a str,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub end: Position,
    pub label: &'a str,
    pub help: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// One JSON object per line, one line per diagnostic.
pub fn render_json(file: &str, source: &str, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let (line, column) = line_col(source, d.span.start);
        let (end_line, end_column) = line_col(source, d.span.end);
        let j = JsonDiagnostic {
            code: d.code.to_string(),
            severity: d.severity,
            message: &d.message,
            file,
            line,
            column,
            end: Position {
                line: end_line,
                column: end_column,
            },
            label: &d.label,
            help: d.help.as_deref(),
        };
        // Serialising plain strings and numbers cannot fail.
        out.push_str(&serde_json::to_string(&j).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// GitHub Actions workflow commands: `::error file=F,line=L,col=C,endLine=..,title=CODE::msg`.
pub fn render_github(file: &str, source: &str, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let (line, col) = line_col(source, d.span.start);
        let (end_line, end_col) = line_col(source, d.span.end);
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        out.push_str(&format!(
            "::{level} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
            escape_property(file),
            escape_property(&d.code.to_string()),
            escape_data(&msg)
        ));
    }
    out
}

// https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
