//! SNS: the alerts topic, and one email subscription per address the alerts notify.

use super::{KindInfo, ReplaceOn};
use serde::{Deserialize, Serialize};

pub(super) const TOPIC: KindInfo = KindInfo {
    label: "sns_topic",
    replace_on: ReplaceOn::Attributes(&["name"]),
    taggable: true,
};

pub(super) const SUBSCRIPTION: KindInfo = KindInfo {
    label: "sns_subscription",
    // A subscription has nothing to update: it is made or removed.
    replace_on: ReplaceOn::AnyChange,
    taggable: false,
};

/// GetTopicAttributes: `DisplayName` (the sender name of the alert mails).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSpec {
    pub display_name: String,
}

/// ListSubscriptionsByTopic: `TopicArn`, `Protocol`, `Endpoint`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSpec {
    pub topic_arn: String,
    /// `email`.
    pub protocol: String,
    /// The address.
    pub endpoint: String,
}
