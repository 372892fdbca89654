//! Facts about AWS that the checker enforces: regions, name rules and service limits.
//! Each limit names the AWS documentation it comes from, so it can be re-checked.

/// Regions where Kinesis, Firehose, Lambda, S3 and Glue are all offered.
pub(crate) const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "cn-north-1",
    "cn-northwest-1",
];

/// Firehose BufferingHints: IntervalInSeconds 60-900 (0 disables buffering, which dynamic
/// partitioning does not allow), SizeInMBs 1-128; with dynamic partitioning at least 64.
pub(crate) const FIREHOSE_INTERVAL_S: (u64, u64) = (60, 900);
pub(crate) const FIREHOSE_SIZE_MIB: (u64, u64) = (1, 128);
pub(crate) const FIREHOSE_PARTITIONED_MIN_MIB: u64 = 64;

/// Kinesis data stream retention: 24 hours to 365 days, in whole hours.
pub(crate) const KINESIS_RETENTION_H: (u64, u64) = (24, 8760);
/// Shards per stream: at least one; the hard API maximum for UpdateShardCount targets.
pub(crate) const KINESIS_SHARDS: (u64, u64) = (1, 10_000);

/// AWS tag limits: keys 1-128 characters, values 0-256, no `aws:` prefix.
pub(crate) fn tag_problem(key: &str, value: &str) -> Option<String> {
    let allowed = |c: char| c.is_alphanumeric() || " _.:/=+-@".contains(c);
    if key.is_empty() || key.chars().count() > 128 {
        return Some("tag keys must be 1 to 128 characters".into());
    }
    if value.chars().count() > 256 {
        return Some("tag values must be at most 256 characters".into());
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Some("the `aws:` prefix is reserved for AWS".into());
    }
    if key.to_ascii_lowercase().starts_with("stk:") {
        return Some("the `stk:` prefix is reserved for the tags stkc sets itself".into());
    }
    if let Some(c) = key.chars().chain(value.chars()).find(|c| !allowed(*c)) {
        return Some(format!(
            "`{c}` is not allowed in tags (letters, digits, spaces and _ . : / = + - @)"
        ));
    }
    None
}

/// Instance types look like `t4g.nano`, `m7i.large`, `c6gn.16xlarge`, `mac2.metal`.
pub(crate) fn instance_type_ok(t: &str) -> bool {
    let Some((family, size)) = t.split_once('.') else {
        return false;
    };
    let family_ok = family.len() >= 2
        && family
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
        && family.chars().any(|c| c.is_ascii_digit())
        && family
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let size_core = size.trim_start_matches(|c: char| c.is_ascii_digit());
    let size_ok = [
        "nano", "micro", "small", "medium", "large", "xlarge", "metal",
    ]
    .iter()
    .any(|s| size_core == *s || size_core.starts_with(&format!("{s}-")));
    family_ok && size_ok
}

/// Graviton families (`t4g`, `m7g`, `c7gn`, `r8gd`, `a1`) run arm64.
pub(crate) fn is_arm64(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or("");
    if family == "a1" {
        return true;
    }
    let after_digits = family.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = after_digits.trim_start_matches(|c: char| c.is_ascii_digit());
    suffix.starts_with('g')
}

/// Yahoo Finance symbols: `AAPL`, `BRK-B`, `^GSPC`, `EURUSD=X`, `OCDO.L`, `BTC-USD`.
pub(crate) fn symbol_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 20
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || ".^=-&".contains(c))
        && s.chars().any(|c| c.is_ascii_alphanumeric())
}

/// Secrets Manager names: 1-512 of `A-Za-z0-9/_+=.@-`. SSM names: 1-2048 of `A-Za-z0-9_.-/`,
/// and a hierarchical name starts with `/`.
pub(crate) fn secret_name_problem(store_ssm: bool, name: &str) -> Option<&'static str> {
    if store_ssm {
        if name.is_empty() || name.len() > 2048 {
            return Some("SSM parameter names are 1 to 2048 characters");
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c))
        {
            return Some("SSM parameter names use only letters, digits and _ . - /");
        }
        if name.contains('/') && !name.starts_with('/') {
            return Some("a hierarchical SSM parameter name starts with `/`");
        }
    } else {
        if name.is_empty() || name.len() > 512 {
            return Some("Secrets Manager names are 1 to 512 characters");
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
        {
            return Some("Secrets Manager names use only letters, digits and / _ + = . @ -");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_types() {
        for ok in [
            "t4g.nano",
            "t3.micro",
            "m7i.large",
            "c6gn.16xlarge",
            "mac2.metal",
            "u-6tb1.metal",
            "m7i-flex.large",
        ] {
            assert!(instance_type_ok(ok), "{ok}");
        }
        for bad in ["t4g", "nano", "T4G.nano", "t4g.huge", "tg.nano", ".nano"] {
            assert!(!instance_type_ok(bad), "{bad}");
        }
        assert!(is_arm64("t4g.nano") && is_arm64("c7gn.large") && is_arm64("a1.medium"));
        assert!(!is_arm64("t3.micro") && !is_arm64("m7i.large"));
    }

    #[test]
    fn symbols() {
        for ok in [
            "AAPL", "BRK-B", "^GSPC", "EURUSD=X", "OCDO.L", "BTC-USD", "M&M.NS",
        ] {
            assert!(symbol_ok(ok), "{ok}");
        }
        for bad in ["aapl", "", "AA PL", "^", "TOOLONGSYMBOLNAME12345"] {
            assert!(!symbol_ok(bad), "{bad}");
        }
    }

    #[test]
    fn tags() {
        assert_eq!(tag_problem("project", "stocks"), None);
        assert!(tag_problem("aws:x", "y").is_some());
        assert!(tag_problem("", "y").is_some());
        assert!(tag_problem("a", "b{").is_some());
    }
}
