//! The secrets a pipeline references but stkc never creates (the InfluxDB token): whether
//! each exists, by Secrets Manager DescribeSecret or SSM GetParameter without decryption, so
//! the value is never read.

use super::Cx;
use super::support::invalid;
use crate::error::{AwsError, not_found, sdk};
use stk_deploy::graph::External;

/// Whether the secret an External names exists (never reads its value). A Secrets Manager
/// secret scheduled for deletion counts as absent: it can no longer be read.
pub async fn exists(cx: &Cx<'_>, e: &External) -> Result<bool, AwsError> {
    match store(e)? {
        Store::SecretsManager => {
            match cx
                .aws
                .secrets
                .describe_secret()
                .secret_id(&e.name)
                .send()
                .await
            {
                Ok(out) => Ok(out.deleted_date().is_none()),
                Err(err) if not_found(&err, &["ResourceNotFoundException"]) => Ok(false),
                Err(err) => Err(sdk("DescribeSecret", &e.key, err)),
            }
        }
        Store::Ssm => {
            let got = cx
                .aws
                .ssm
                .get_parameter()
                .name(&e.name)
                .with_decryption(false)
                .send()
                .await;
            match got {
                Ok(_) => Ok(true),
                Err(err) if not_found(&err, &["ParameterNotFound"]) => Ok(false),
                Err(err) => Err(sdk("GetParameter", &e.key, err)),
            }
        }
    }
}

enum Store {
    SecretsManager,
    Ssm,
}

/// The store, by the External's key (`secretsmanager:<name>` or `ssm:<name>`, as the graph
/// writes it): stk-aws does not link the DSL crate that defines `SecretStore`.
fn store(e: &External) -> Result<Store, AwsError> {
    match e.key.split_once(':').map(|(store, _)| store) {
        Some("secretsmanager") => Ok(Store::SecretsManager),
        Some("ssm") => Ok(Store::Ssm),
        _ => Err(invalid(
            &e.key,
            "the secret's key names no store (`secretsmanager:` or `ssm:`)",
        )),
    }
}
