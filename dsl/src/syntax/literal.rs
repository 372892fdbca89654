//! Reading literal tokens (numbers, durations, sizes, percentages, strings) into values.
//! Each returns a message on failure; the parser turns it into an `E0002` diagnostic.

/// Milliseconds per duration unit.
fn unit_millis(unit: &str) -> Option<u64> {
    Some(match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return None,
    })
}

fn unit_bytes(unit: &str) -> Option<u64> {
    Some(match unit {
        "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        _ => return None,
    })
}

fn split_number(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    s.split_at(end)
}

fn parse_decimal(s: &str) -> Result<f64, String> {
    s.replace('_', "")
        .parse::<f64>()
        .map_err(|_| format!("`{s}` is not a number"))
}

/// `1h30m` -> 5_400_000 ms. Fractions are allowed when they come to whole milliseconds.
pub fn duration_millis(raw: &str) -> Result<u64, String> {
    let mut rest = raw;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (num, tail) = split_number(rest);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let per = unit_millis(unit).ok_or_else(|| format!("`{unit}` is not a duration unit"))?;
        let value = parse_decimal(num)? * per as f64;
        if value.fract() != 0.0 {
            return Err(format!("`{raw}` is not a whole number of milliseconds"));
        }
        if value > u64::MAX as f64 / 2.0 {
            return Err(format!("`{raw}` is too long"));
        }
        total = total
            .checked_add(value as u64)
            .ok_or_else(|| format!("`{raw}` is too long"))?;
        rest = tail;
    }
    Ok(total)
}

/// `5MiB` -> 5_242_880 bytes.
pub fn size_bytes(raw: &str) -> Result<u64, String> {
    let (num, unit) = split_number(raw);
    let per = unit_bytes(unit).ok_or_else(|| format!("`{unit}` is not a size unit"))?;
    let value = parse_decimal(num)? * per as f64;
    if value.fract() != 0.0 {
        return Err(format!("`{raw}` is not a whole number of bytes"));
    }
    if value >= u64::MAX as f64 {
        return Err(format!("`{raw}` is too large"));
    }
    Ok(value as u64)
}

/// `1.5%` -> 0.015.
pub fn percent_ratio(raw: &str) -> Result<f64, String> {
    let num = raw.trim_end_matches('%');
    Ok(parse_decimal(num)? / 100.0)
}

/// A number literal: its value, and whether it was written as an integer.
pub fn number(raw: &str) -> Result<(f64, bool), String> {
    let cleaned = raw.replace('_', "");
    let is_int = !cleaned.contains(['.', 'e', 'E']);
    let value: f64 = cleaned
        .parse()
        .map_err(|_| format!("`{raw}` is not a number"))?;
    if !value.is_finite() {
        return Err(format!("`{raw}` is out of range"));
    }
    if is_int && value > 9_007_199_254_740_992.0 {
        return Err(format!(
            "`{raw}` is larger than 2^53 and cannot be represented exactly"
        ));
    }
    Ok((value, is_int))
}

/// The value of a string literal (with its quotes), escapes resolved.
/// Escapes: `\"`, `\\`, `\n`, `\t`, `\r`, `\u{...}`, `\{` and `\}` (literal braces).
pub fn unescape(raw: &str) -> Result<String, String> {
    let inner = &raw[1..raw.len() - 1];
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('{') => out.push('{'),
            Some('}') => out.push('}'),
            Some('u') => {
                let rest: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let hex = rest
                    .strip_prefix('{')
                    .ok_or("`\\u` needs braces: `\\u{2713}`")?;
                let code = u32::from_str_radix(hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| format!("`\\u{{{hex}}}` is not a Unicode scalar value"))?;
                out.push(code);
            }
            Some(other) => return Err(format!("unknown escape `\\{other}`")),
            None => return Err("a string cannot end with a lone `\\`".into()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (raw, ms) in [
            ("5s", 5_000),
            ("1m", 60_000),
            ("24h", 86_400_000),
            ("1h30m", 5_400_000),
            ("250ms", 250),
            ("1.5s", 1_500),
            ("2d", 172_800_000),
            ("1w", 604_800_000),
        ] {
            assert_eq!(duration_millis(raw), Ok(ms), "{raw}");
        }
        assert!(duration_millis("0.5ms").is_err());
        assert!(duration_millis("99999999999999999999w").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size_bytes("5MiB"), Ok(5 * 1024 * 1024));
        assert_eq!(size_bytes("128MB"), Ok(128_000_000));
        assert_eq!(size_bytes("1_024B"), Ok(1024));
        assert!(size_bytes("0.5B").is_err());
    }

    #[test]
    fn percents_and_numbers() {
        assert_eq!(percent_ratio("1%"), Ok(0.01));
        assert_eq!(percent_ratio("12.5%"), Ok(0.125));
        assert_eq!(number("42"), Ok((42.0, true)));
        assert_eq!(number("4.2"), Ok((4.2, false)));
        assert_eq!(number("1e3"), Ok((1000.0, false)));
        assert!(number("99999999999999999999").is_err());
    }

    #[test]
    fn strings() {
        assert_eq!(unescape(r#""a\"b\\c\n""#), Ok("a\"b\\c\n".to_string()));
        assert_eq!(unescape(r#""\u{2713}""#), Ok("✓".to_string()));
        assert_eq!(unescape(r#""\{x\}""#), Ok("{x}".to_string()));
        assert!(unescape(r#""\q""#).is_err());
    }
}
