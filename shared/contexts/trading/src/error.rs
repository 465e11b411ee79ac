use rust_decimal::Decimal;

/// What a trading platform call can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TradingError {
    #[error("trading account {login} does not exist")]
    AccountNotFound { login: u64 },
    /// A withdrawal larger than what the account may give: its balance, and no more than its
    /// free margin (money held as margin for open positions cannot leave).
    #[error("account {login} cannot withdraw {requested}: {available} is available")]
    InsufficientFunds {
        login: u64,
        requested: Decimal,
        available: Decimal,
    },
    /// A credit-out larger than the credit the account holds.
    #[error("account {login} cannot give back {requested} of credit: it holds {available}")]
    InsufficientCredit {
        login: u64,
        requested: Decimal,
        available: Decimal,
    },
    /// An idempotency key (request id, operation id) was used before for a different request.
    #[error("idempotency conflict: {0}")]
    Conflict(String),
    /// Not a positive amount the account's currency can book (sign, or too many decimals).
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// A malformed request: empty or oversized ids, unknown currency, leverage out of range...
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A deal cursor this platform did not issue for this scope.
    #[error("invalid deal cursor")]
    InvalidCursor,
    /// The platform did not answer or was too busy; the same call may be retried (with the same
    /// request or operation id, so that a retry cannot apply anything twice).
    #[error("trading platform unavailable: {0}")]
    PlatformUnavailable(String),
    /// The platform's own records could not be read or written (not worth retrying).
    #[error("trading platform storage error: {0}")]
    Storage(String),
}

impl TradingError {
    /// A stable name per kind of failure. Step Functions retries and catches Lambda errors by
    /// their error type name, so these names are part of the workflows' contract: do not
    /// rename them.
    pub fn error_name(&self) -> &'static str {
        match self {
            TradingError::AccountNotFound { .. } => "TradingAccountNotFound",
            TradingError::InsufficientFunds { .. } => "TradingInsufficientFunds",
            TradingError::InsufficientCredit { .. } => "TradingInsufficientCredit",
            TradingError::Conflict(_) => "TradingConflict",
            TradingError::InvalidAmount(_) => "TradingInvalidAmount",
            TradingError::InvalidRequest(_) => "TradingInvalidRequest",
            TradingError::InvalidCursor => "TradingInvalidCursor",
            TradingError::PlatformUnavailable(_) => "TradingPlatformUnavailable",
            TradingError::Storage(_) => "TradingStorageError",
        }
    }

    /// Whether retrying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, TradingError::PlatformUnavailable(_))
    }
}

/// Platform failures as the workflow sees them: retryable ones by the platform's error name,
/// the rest as what they are.
pub fn platform_error(e: TradingError) -> brokeros_kernel::Error {
    match e {
        e if e.is_transient() => brokeros_kernel::Error::ProviderUnavailable {
            error_type: e.error_name(),
            message: e.to_string(),
        },
        TradingError::Conflict(m) => brokeros_kernel::Error::conflict("trading_conflict", m),
        TradingError::AccountNotFound { login } => brokeros_kernel::Error::NotFound {
            entity: "trading account",
            id: login.to_string(),
        },
        TradingError::Storage(m) => brokeros_kernel::Error::Unavailable(m),
        other => {
            brokeros_kernel::Error::invalid("trading_request_refused", "trading", other.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unavailability_is_transient_and_names_are_stable() {
        let unavailable = TradingError::PlatformUnavailable("timeout".into());
        assert!(unavailable.is_transient());
        assert_eq!(unavailable.error_name(), "TradingPlatformUnavailable");
        let refused = TradingError::InsufficientFunds {
            login: 1,
            requested: Decimal::new(1000, 2),
            available: Decimal::new(500, 2),
        };
        assert!(!refused.is_transient());
        assert_eq!(refused.error_name(), "TradingInsufficientFunds");
        assert_eq!(
            refused.to_string(),
            "account 1 cannot withdraw 10.00: 5.00 is available"
        );
        assert!(!TradingError::Conflict("x".into()).is_transient());
    }
}
