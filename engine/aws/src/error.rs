//! Errors of AWS calls: which call, on which resource, AWS's error code and message, and
//! whether retrying can help (throttling, and IAM changes not yet visible to the service
//! that checks them).

use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::error::Error as StdError;

#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    #[error("{operation} on {resource} failed: {message}")]
    Call {
        operation: &'static str,
        resource: String,
        /// AWS's error code (`ResourceNotFoundException`), when it sent one.
        code: Option<String>,
        message: String,
    },
    #[error("{resource} did not become {state} within {seconds} s")]
    Timeout {
        resource: String,
        state: &'static str,
        seconds: u64,
    },
    #[error("{resource}: {message}")]
    Invalid { resource: String, message: String },
    #[error("no AWS region: pass --region, set AWS_REGION, or give the profile a region")]
    NoRegion,
}

/// Codes AWS answers when a request came too fast.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "ConcurrentModificationException",
    "OperationAbortedException",
    "ResourceInUseException",
];

/// Message fragments by which services report an IAM role or permission they cannot see yet
/// (IAM is eventually consistent; docs/design/deploy.md lists where each comes from).
const PROPAGATION: &[&str] = &[
    "cannot be assumed",
    "does not have permissions",
    "unable to assume",
    "Unable to assume",
    "Invalid IAM Instance Profile",
    "Unable to validate the following destination configurations",
    "is not authorized to perform",
];

impl AwsError {
    /// AWS's error code, if the error came from AWS.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::Call { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// Whether the error is one of `codes`.
    pub fn is(&self, codes: &[&str]) -> bool {
        self.code().is_some_and(|c| codes.contains(&c))
    }

    /// Throttling or IAM propagation: worth retrying with backoff.
    pub fn retryable(&self) -> bool {
        match self {
            AwsError::Call { code, message, .. } => {
                code.as_deref().is_some_and(|c| THROTTLING.contains(&c))
                    || PROPAGATION.iter().any(|p| message.contains(p))
            }
            _ => false,
        }
    }
}

/// An SDK error as an [`AwsError::Call`], keeping AWS's code and the whole error chain.
pub fn sdk<E>(operation: &'static str, resource: impl Into<String>, err: E) -> AwsError
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let code = err.code().map(str::to_string);
    let message = match err.message() {
        Some(m) => match &code {
            Some(c) => format!("{c}: {m}"),
            None => m.to_string(),
        },
        None => DisplayErrorContext(&err).to_string(),
    };
    AwsError::Call {
        operation,
        resource: resource.into(),
        code,
        message,
    }
}

/// The SDK's error type for an operation error `E`.
pub type SdkError<E> = aws_smithy_runtime_api::client::result::SdkError<
    E,
    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
>;

/// Whether an SDK error says the thing does not exist, by the codes the service uses for
/// that (plus HTTP 404 for S3's HEAD requests, which carry no body).
pub fn not_found<E: ProvideErrorMetadata>(err: &SdkError<E>, codes: &[&str]) -> bool {
    err.code().is_some_and(|c| codes.contains(&c))
        || err
            .raw_response()
            .is_some_and(|r| r.status().as_u16() == 404)
}

/// A removal's outcome (a delete, a detach): done, or the thing already absent (see
/// [`not_found`]), which is as good; any other error named by its call and resource.
pub fn removed<T, E>(
    result: Result<T, SdkError<E>>,
    codes: &[&str],
    operation: &'static str,
    resource: impl Into<String>,
) -> Result<(), AwsError>
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if not_found(&e, codes) => Ok(()),
        Err(e) => Err(sdk(operation, resource, e)),
    }
}
