//! The AWS clients of one deploy, built once from the standard credential chain
//! (environment, profiles, SSO, IMDS), `--profile` and `--region`, and `AWS_ENDPOINT_URL`
//! (how the tests reach the local emulator); and the account id from STS.

use crate::error::{AwsError, sdk};

/// Every client a deploy uses, sharing one configuration, plus where they point.
#[derive(Clone, Debug)]
pub struct Aws {
    pub account_id: String,
    pub region: String,
    pub kinesis: aws_sdk_kinesis::Client,
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub firehose: aws_sdk_firehose::Client,
    pub glue: aws_sdk_glue::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl Aws {
    /// Clients from the standard chain; `region` wins over the profile's and the
    /// environment's. Asks STS who we are (the account id names the buckets).
    pub async fn connect(profile: Option<&str>, region: Option<&str>) -> Result<Aws, AwsError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r.to_string()));
        }
        Aws::from_conf(&loader.load().await).await
    }

    /// Clients from a loaded configuration (tests point one at the emulator).
    pub async fn from_conf(conf: &aws_config::SdkConfig) -> Result<Aws, AwsError> {
        let conf = conf.clone();
        let region = conf
            .region()
            .map(|r| r.to_string())
            .ok_or(AwsError::NoRegion)?;
        let sts = aws_sdk_sts::Client::new(&conf);
        let who = sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| sdk("GetCallerIdentity", "the account", e))?;
        let account_id = who.account().unwrap_or_default().to_string();
        // Path-style addressing only for a custom endpoint (an emulator on `localhost` has no
        // bucket subdomains); AWS itself gets the virtual-hosted style it recommends.
        let s3_conf = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(conf.endpoint_url().is_some())
            .build();
        Ok(Aws {
            account_id,
            region,
            kinesis: aws_sdk_kinesis::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            sns: aws_sdk_sns::Client::new(&conf),
            iam: aws_sdk_iam::Client::new(&conf),
            lambda: aws_sdk_lambda::Client::new(&conf),
            firehose: aws_sdk_firehose::Client::new(&conf),
            glue: aws_sdk_glue::Client::new(&conf),
            ec2: aws_sdk_ec2::Client::new(&conf),
            logs: aws_sdk_cloudwatchlogs::Client::new(&conf),
            secrets: aws_sdk_secretsmanager::Client::new(&conf),
            ssm: aws_sdk_ssm::Client::new(&conf),
        })
    }
}
