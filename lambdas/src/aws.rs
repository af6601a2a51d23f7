//! The AWS SDK configuration, loaded once at start from the function's
//! environment (region, role credentials, and `AWS_ENDPOINT_URL` in tests).

/// The SDK configuration of this function.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
