//! SDK errors to [`StoreError`]s, with short messages (no raw SDK debug output).

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use brokeros_store::StoreError;

/// The longest piece of engine text an error message carries.
const MAX_DETAIL_CHARS: usize = 300;

pub(crate) fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_DETAIL_CHARS {
        return text.to_string();
    }
    let mut short: String = text.chars().take(MAX_DETAIL_CHARS).collect();
    short.push('…');
    short
}

/// Maps the error of any DynamoDB call (`operation` names it in the message).
pub(crate) fn sdk_error<E>(operation: &str, error: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(context) => service_error(operation, context.err()),
        SdkError::TimeoutError(_) => {
            StoreError::Unavailable(format!("{operation}: the request timed out"))
        }
        SdkError::DispatchFailure(failure) => {
            let what = if failure.is_timeout() {
                "timed out"
            } else if failure.is_io() {
                "failed to connect"
            } else {
                "could not be sent"
            };
            StoreError::Unavailable(format!(
                "{operation}: the request {what}: {}",
                shorten(&DisplayErrorContext(&error).to_string())
            ))
        }
        SdkError::ResponseError(_) => {
            StoreError::Unavailable(format!("{operation}: the response could not be read"))
        }
        SdkError::ConstructionFailure(_) => StoreError::Invalid(format!(
            "{operation}: the request could not be built: {}",
            shorten(&DisplayErrorContext(&error).to_string())
        )),
        _ => StoreError::Unavailable(format!("{operation}: {}", shorten(&error.to_string()))),
    }
}

fn service_error(operation: &str, error: &impl ProvideErrorMetadata) -> StoreError {
    let code = error.code().unwrap_or("UnknownError");
    let message = shorten(error.message().unwrap_or("no message"));
    match code {
        "ValidationException" | "SerializationException" => {
            StoreError::Invalid(format!("{operation}: {message}"))
        }
        "ConditionalCheckFailedException" => StoreError::ConditionFailed { index: 0 },
        "TransactionConflictException" => StoreError::TransactionConflict,
        _ => StoreError::Unavailable(format!("{operation}: {code}: {message}")),
    }
}

/// Maps the error of TransactWriteItems, reading the cancellation reasons of a cancelled
/// transaction: the first failed condition wins, then a conflict.
pub(crate) fn transaction_error(error: SdkError<TransactWriteItemsError>) -> StoreError {
    if let SdkError::ServiceError(context) = &error
        && let TransactWriteItemsError::TransactionCanceledException(cancelled) = context.err()
    {
        let mut codes: Vec<String> = cancelled
            .cancellation_reasons()
            .iter()
            .map(|reason| reason.code().unwrap_or("None").to_string())
            .collect();
        if codes.is_empty() {
            codes = codes_from_message(cancelled.message().unwrap_or(""));
        }
        return cancellation_error(
            &codes,
            cancelled.message().unwrap_or("transaction cancelled"),
        );
    }
    sdk_error("TransactWriteItems", error)
}

/// The reason codes of a cancellation message ("… reasons [None, ConditionalCheckFailed]"),
/// for a response that carries no structured reasons.
fn codes_from_message(message: &str) -> Vec<String> {
    let Some(start) = message.rfind('[') else {
        return Vec::new();
    };
    let Some(end) = message[start..].find(']') else {
        return Vec::new();
    };
    message[start + 1..start + end]
        .split(',')
        .map(|code| code.trim().to_string())
        .collect()
}

fn cancellation_error(codes: &[String], message: &str) -> StoreError {
    if let Some(index) = codes
        .iter()
        .position(|code| code == "ConditionalCheckFailed")
    {
        return StoreError::ConditionFailed { index };
    }
    if codes.iter().any(|code| code == "TransactionConflict") {
        return StoreError::TransactionConflict;
    }
    if codes.iter().any(|code| code == "ValidationError") {
        return StoreError::Invalid(format!("TransactWriteItems: {}", shorten(message)));
    }
    let reasons: Vec<&str> = codes
        .iter()
        .map(String::as_str)
        .filter(|code| *code != "None")
        .collect();
    StoreError::Unavailable(format!(
        "TransactWriteItems cancelled: {}",
        reasons.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(list: &[&str]) -> Vec<String> {
        list.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn the_first_failed_condition_is_reported() {
        let reasons = codes(&[
            "None",
            "ConditionalCheckFailed",
            "TransactionConflict",
            "ConditionalCheckFailed",
        ]);
        assert_eq!(
            cancellation_error(&reasons, ""),
            StoreError::ConditionFailed { index: 1 }
        );
    }

    #[test]
    fn conflicts_throttling_and_validation_are_told_apart() {
        assert_eq!(
            cancellation_error(&codes(&["None", "TransactionConflict"]), ""),
            StoreError::TransactionConflict
        );
        assert!(matches!(
            cancellation_error(&codes(&["ThrottlingError"]), ""),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            cancellation_error(&codes(&["ValidationError"]), ""),
            StoreError::Invalid(_)
        ));
    }

    #[test]
    fn reasons_are_read_from_the_message_when_not_structured() {
        let message = "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]";
        assert_eq!(
            codes_from_message(message),
            codes(&["None", "ConditionalCheckFailed"])
        );
        assert!(codes_from_message("no list here").is_empty());
    }

    #[test]
    fn long_details_are_cut() {
        assert_eq!(
            shorten(&"x".repeat(1000)).chars().count(),
            MAX_DETAIL_CHARS + 1
        );
        assert_eq!(shorten("short"), "short");
    }
}
