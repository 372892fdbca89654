//! CloudWatch Logs: each function's own log group, created by us with a retention (so no
//! role needs `logs:CreateLogGroup` and logs do not pile up forever).

use super::{KindInfo, ReplaceOn};
use serde::{Deserialize, Serialize};

pub(super) const LOG_GROUP: KindInfo = KindInfo {
    label: "log_group",
    replace_on: ReplaceOn::Attributes(&["name"]),
    taggable: true,
};

/// DescribeLogGroups (by name prefix, exact match kept): `retentionInDays`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroupSpec {
    pub retention_days: u32,
}
