//! EC2: the scraper's security group (SSH from the pipeline's CIDR only) and its instance
//! (IMDSv2 required, encrypted root volume, the instance profile, the runtime's user data).

use super::{KindInfo, ReplaceOn};
use serde::{Deserialize, Serialize};

pub(super) const SECURITY_GROUP: KindInfo = KindInfo {
    label: "ec2_security_group",
    // Rules are authorised and revoked in place; name, description and VPC are fixed.
    replace_on: ReplaceOn::Attributes(&["name", "description", "network"]),
    taggable: true,
};

pub(super) const INSTANCE: KindInfo = KindInfo {
    label: "ec2_instance",
    // The type (stop, modify, start), security group, metadata options and instance profile
    // change in place; user data runs only at first boot, so a new one means a new instance.
    replace_on: ReplaceOn::Attributes(&[
        "image",
        "subnet",
        "key_name",
        "root_volume_gib",
        "root_volume_type",
        "root_volume_encrypted",
        "user_data_sha256",
    ]),
    taggable: true,
};

/// One rule of a security group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rule {
    /// `tcp`, or `-1` for every protocol.
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    /// An IPv4 or IPv6 CIDR block.
    pub cidr: String,
}

/// DescribeSecurityGroups, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityGroupSpec {
    pub description: String,
    /// `default-vpc`, or `vpc-of:<subnet id>`: the reader maps the group's `VpcId` back to
    /// this form (so the diff stays pure), and keeps a raw `vpc-...` when it is neither.
    pub network: String,
    /// Sorted.
    pub ingress: Vec<Rule>,
    /// Sorted.
    pub egress: Vec<Rule>,
}

/// DescribeInstances (the one not terminated instance with our tags) and
/// DescribeInstanceAttribute (`userData`), normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// An AMI id, or `resolve:ssm:<parameter>` for the latest Amazon Linux 2023: that one is
    /// resolved when the instance is launched and never replaces it later (pin `ami` in the
    /// file to control upgrades).
    pub image: String,
    pub instance_type: String,
    pub subnet: Option<String>,
    pub key_name: Option<String>,
    /// The instance profile's name.
    pub instance_profile: String,
    /// The security group's name.
    pub security_group: String,
    /// `MetadataOptions.HttpTokens`: `required` (IMDSv2 only).
    pub metadata_http_tokens: String,
    pub root_volume_gib: u32,
    pub root_volume_type: String,
    pub root_volume_encrypted: bool,
    /// Hex SHA-256 of the user data text (the reader hashes the decoded `userData`).
    pub user_data_sha256: String,
}
