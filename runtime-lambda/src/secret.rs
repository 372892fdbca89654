//! The InfluxDB token, read at init from the secret the pipeline names: a Secrets Manager
//! secret (`secret("name")`) or an SSM SecureString parameter (`ssm("/path")`). Never from a
//! plain environment variable, where anyone who can read the function's configuration sees it.
//!
//! A Secrets Manager value may be the token itself or a JSON object with a `token` key (the
//! shape the console's "key/value" editor writes).

use aws_config::SdkConfig;
use stk_dsl::ir::{SecretRef, SecretStore};

/// The token's value, or why it could not be read (with what to do about it).
pub async fn read(aws: &SdkConfig, secret: &SecretRef) -> Result<String, String> {
    let raw = match secret.store {
        SecretStore::SecretsManager => {
            let client = aws_sdk_secretsmanager::Client::new(aws);
            let out = client
                .get_secret_value()
                .secret_id(&secret.name)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "cannot read the Secrets Manager secret {:?}: {}; create it with `aws secretsmanager create-secret --name {} --secret-string TOKEN`, and check that the function's role may read it",
                        secret.name,
                        aws_sdk_secretsmanager::error::DisplayErrorContext(&e),
                        secret.name
                    )
                })?;
            out.secret_string().map(str::to_string).ok_or_else(|| {
                format!(
                    "the secret {:?} holds binary data, not a token",
                    secret.name
                )
            })?
        }
        SecretStore::Ssm => {
            let client = aws_sdk_ssm::Client::new(aws);
            let out = client
                .get_parameter()
                .name(&secret.name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "cannot read the SSM parameter {:?}: {}; create it as a SecureString, and check that the function's role may read it",
                        secret.name,
                        aws_sdk_ssm::error::DisplayErrorContext(&e)
                    )
                })?;
            out.parameter()
                .and_then(|p| p.value())
                .map(str::to_string)
                .ok_or_else(|| format!("the SSM parameter {:?} has no value", secret.name))?
        }
    };
    token_of(&raw).ok_or_else(|| format!("the secret {:?} is empty", secret.name))
}

/// The token in a secret's text: the text itself, or the `token` of a JSON object.
pub fn token_of(raw: &str) -> Option<String> {
    let raw = raw.trim();
    if raw.starts_with('{')
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(raw)
    {
        return map
            .get("token")
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .filter(|t| !t.is_empty());
    }
    Some(raw.to_string()).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::token_of;

    #[test]
    fn plain_and_key_value_secrets() {
        assert_eq!(token_of(" abc \n").as_deref(), Some("abc"));
        assert_eq!(token_of(r#"{"token": "t0k"}"#).as_deref(), Some("t0k"));
        assert_eq!(token_of(r#"{"other": "x"}"#), None);
        assert_eq!(token_of(""), None);
    }
}
