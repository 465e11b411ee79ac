//! The `kyc-check` task.
use brokeros_domain::Result;
use serde::Deserialize;
use serde_json::Value;

use super::tasks::TaskScope;
use crate::Services;

#[derive(Debug, Deserialize)]
pub(crate) struct KycTask {
    #[serde(flatten)]
    scope: TaskScope,
    product: String,
}

pub(crate) async fn check(services: &Services, task: KycTask) -> Result<Value> {
    let _ = (services, task.scope, task.product);
    Err(brokeros_domain::Error::Internal("kyc check pending".into()))
}
