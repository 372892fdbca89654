//! Rendering alert messages: text with `{expr}` interpolations. Percentages are shown with a
//! sign and two decimals (`+1.23%`), timestamps as RFC 3339, durations like `5m`.

use crate::expr::{Compiled, Slots};
use crate::record::Record;
use crate::value::{Value, ts_to_rfc3339};
use stk_dsl::ir::{Schema, Template, TemplatePart, Type};

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Expr(Compiled, Type),
}

#[derive(Debug, Clone)]
pub struct Renderer {
    parts: Vec<Part>,
}

impl Renderer {
    /// Compile a template; its stateful calls join `slots`.
    pub fn new(t: &Template, schema: &Schema, slots: &mut Slots) -> Self {
        let parts = t
            .parts
            .iter()
            .map(|p| match p {
                TemplatePart::Text(s) => Part::Text(s.clone()),
                TemplatePart::Expr(e) => Part::Expr(Compiled::with_slots(e, schema, slots), e.ty),
            })
            .collect();
        Renderer { parts }
    }

    pub fn render(&self, record: &Record, slots: &[Value]) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(s) => out.push_str(s),
                Part::Expr(e, ty) => out.push_str(&display(&e.eval(record, slots), *ty)),
            }
        }
        out
    }
}

/// How a value of a given type reads in a message.
pub fn display(v: &Value, ty: Type) -> String {
    match (v, ty) {
        (Value::Null, _) => "null".into(),
        (Value::Float(f), Type::Percent) => format!("{:+.2}%", f * 100.0),
        (Value::Float(f), _) => format!("{f}"),
        (Value::Int(i), _) => i.to_string(),
        (Value::Bool(b), _) => b.to_string(),
        (Value::Str(s), _) => s.to_string(),
        (Value::Ts(t), _) => ts_to_rfc3339(*t),
        (Value::DurationMs(d), _) => duration(*d),
    }
}

fn duration(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    let body = match ms {
        0 => "0s".to_string(),
        m if m % 3_600_000 == 0 => format!("{}h", m / 3_600_000),
        m if m % 60_000 == 0 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m => format!("{m}ms"),
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_have_a_sign_and_two_decimals() {
        assert_eq!(display(&Value::Float(0.012345), Type::Percent), "+1.23%");
        assert_eq!(display(&Value::Float(-0.02), Type::Percent), "-2.00%");
        assert_eq!(display(&Value::Float(232.5), Type::Float64), "232.5");
        assert_eq!(display(&Value::DurationMs(300_000), Type::Duration), "5m");
        assert_eq!(
            display(&Value::Ts(1_764_253_800_000_000), Type::Timestamp),
            "2025-11-27T14:30:00Z"
        );
    }
}
