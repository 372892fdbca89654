//! IAM: a role per function, Firehose, the crawler and the scraper; each role's one inline
//! policy (derived from the graph's access edges, see `crate::iam`); the scraper's instance
//! profile.

use super::{KindInfo, ReplaceOn};
use crate::iam::PolicyDocument;
use serde::{Deserialize, Serialize};

pub(super) const ROLE: KindInfo = KindInfo {
    label: "iam_role",
    replace_on: ReplaceOn::Attributes(&["name", "path"]),
    taggable: true,
};

pub(super) const ROLE_POLICY: KindInfo = KindInfo {
    label: "iam_role_policy",
    replace_on: ReplaceOn::Attributes(&["name", "role"]),
    taggable: false,
};

pub(super) const INSTANCE_PROFILE: KindInfo = KindInfo {
    label: "iam_instance_profile",
    replace_on: ReplaceOn::Attributes(&["name", "path"]),
    // Ownership follows its role (same name): moto cannot list instance profile tags.
    taggable: false,
};

/// GetRole: `Path`, `Description`, and the URL-decoded `AssumeRolePolicyDocument`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleSpec {
    pub path: String,
    pub description: String,
    /// Which service may assume the role (the trust policy).
    pub assume_role_policy: PolicyDocument,
}

/// GetRolePolicy: the URL-decoded `PolicyDocument` of the role's one inline policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RolePolicySpec {
    /// The role's name.
    pub role: String,
    pub document: PolicyDocument,
}

/// GetInstanceProfile: `Path` and the name of its one role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceProfileSpec {
    pub path: String,
    pub role: String,
}
