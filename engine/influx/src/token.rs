//! Where the InfluxDB token comes from outside AWS. On AWS the transform Lambda reads the secret
//! the file names (Secrets Manager or SSM); on a workstation (`stkc run`, `stkc backfill`) the
//! same secret is looked up in the environment, so no token is ever written into a file.

use stk_dsl::ir::SecretRef;

/// The environment variable that holds `secret` locally: `STK_SECRET_` followed by the
/// secret's name upper-cased, every other character than a letter or digit replaced by `_`
/// (`secret("stocks/influx-token")` is `STK_SECRET_STOCKS_INFLUX_TOKEN`).
pub fn env_var(secret: &SecretRef) -> String {
    let name: String = secret
        .name
        .trim_start_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("STK_SECRET_{name}")
}

/// The token from the environment, if set.
pub fn from_env(secret: &SecretRef) -> Option<String> {
    std::env::var(env_var(secret))
        .ok()
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stk_dsl::ir::SecretStore;

    #[test]
    fn names_follow_the_secret() {
        let s = |store, name: &str| SecretRef {
            store,
            name: name.into(),
        };
        assert_eq!(
            env_var(&s(SecretStore::SecretsManager, "stocks/influx-token")),
            "STK_SECRET_STOCKS_INFLUX_TOKEN"
        );
        assert_eq!(
            env_var(&s(SecretStore::Ssm, "/prod/influx.token")),
            "STK_SECRET_PROD_INFLUX_TOKEN"
        );
    }
}
