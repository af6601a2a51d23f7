//! What a failed call says.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The code DynamoDB answers when a write's condition does not hold.
const CONDITION_FAILED: &str = "ConditionalCheckFailedException";

/// What went wrong in a call: `Code: message` when the service answered
/// with an error (e.g. `ResourceNotFoundException: Requested resource not
/// found`), else the whole chain of causes (timeout, connection refused,
/// credentials).
pub fn call_detail<E, R>(e: &SdkError<E, R>) -> String
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(service) => format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("no message")
        ),
        None => DisplayErrorContext(e).to_string(),
    }
}

/// A conditional write's answer: `Ok(None)` when its condition did not hold
/// (the service's `ConditionalCheckFailedException`), the error of any other
/// failure unchanged.
pub fn conditional<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<Option<T>, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.as_service_error().and_then(|s| s.code()) == Some(CONDITION_FAILED) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;
    use aws_sdk_dynamodb::types::error::{
        ConditionalCheckFailedException, ResourceNotFoundException,
    };

    use super::*;

    type Answer = Result<u8, SdkError<PutItemError, ()>>;

    fn service(error: PutItemError) -> SdkError<PutItemError, ()> {
        SdkError::service_error(error, ())
    }

    fn condition_failed() -> PutItemError {
        PutItemError::ConditionalCheckFailedException(
            ConditionalCheckFailedException::builder()
                .message("The conditional request failed")
                .meta(
                    ErrorMetadata::builder()
                        .code(CONDITION_FAILED)
                        .message("The conditional request failed")
                        .build(),
                )
                .build(),
        )
    }

    fn not_found() -> PutItemError {
        PutItemError::ResourceNotFoundException(
            ResourceNotFoundException::builder()
                .meta(
                    ErrorMetadata::builder()
                        .code("ResourceNotFoundException")
                        .message("Requested resource not found")
                        .build(),
                )
                .build(),
        )
    }

    #[test]
    fn service_errors_lead_with_their_code() {
        assert_eq!(
            call_detail(&service(not_found())),
            "ResourceNotFoundException: Requested resource not found"
        );
        let bare = PutItemError::unhandled("?");
        assert_eq!(call_detail(&service(bare)), "error: no message");
    }

    #[test]
    fn other_failures_give_their_causes() {
        let e: SdkError<PutItemError, ()> = SdkError::timeout_error("read timed out after 3s");
        let detail = call_detail(&e);
        assert!(detail.contains("read timed out after 3s"), "{detail}");
    }

    #[test]
    fn a_failed_condition_is_an_answer_not_an_error() {
        let ok: Answer = Ok(1);
        assert_eq!(conditional(ok).unwrap(), Some(1));
        let lost: Answer = Err(service(condition_failed()));
        assert_eq!(conditional(lost).unwrap(), None);
        let failed: Answer = Err(service(not_found()));
        assert!(conditional(failed).is_err());
        let timeout: Answer = Err(SdkError::timeout_error("slow"));
        assert!(conditional(timeout).is_err());
    }
}
