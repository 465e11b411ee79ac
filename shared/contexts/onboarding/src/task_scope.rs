//! What every onboarding task shares: its scope (the onboarding, its client and the execution
//! acting), and the one way a task changes the onboarding.

use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::execute;
use brokeros_kernel::{Error, OpContext, Result};
use serde::Deserialize;

use crate::Services;
use crate::model::{Client, Onboarding};

/// What every onboarding task receives.
#[derive(Debug, Clone, Deserialize)]
pub struct TaskScope {
    pub client_id: String,
    pub onboarding_id: String,
    /// `$$.Execution.Id`: the actor of the task's audit events and their correlation id.
    pub execution_id: String,
}

impl TaskScope {
    pub(crate) fn ctx(&self, services: &Services) -> OpContext {
        brokeros_kernel::workflow_ctx(services, &self.execution_id)
    }

    /// The onboarding and its client, checked to belong together.
    pub(crate) async fn load(
        &self,
        services: &Services,
    ) -> Result<(Audited<Onboarding>, Audited<Client>)> {
        let onboarding = services.get::<Onboarding>(&self.onboarding_id).await?;
        if onboarding.entity.client_id != self.client_id {
            return Err(Error::invalid(
                "client_mismatch",
                "client_id",
                "the onboarding belongs to another client",
            ));
        }
        let client = services.get::<Client>(&self.client_id).await?;
        Ok((onboarding, client))
    }
}

/// Applies `edit` to the task's onboarding and commits it with its audit event `action`
/// (nothing when the edit changes nothing, as when a task is retried).
pub(crate) async fn update_onboarding(
    services: &Services,
    scope: &TaskScope,
    action: &str,
    edit: impl Fn(&mut Onboarding) + Send + Sync,
) -> Result<()> {
    let edit = &edit;
    execute(services, None, move || {
        Box::pin(async move {
            let ctx = scope.ctx(services);
            let (before, _) = scope.load(services).await?;
            let mut onboarding = before.entity.clone();
            edit(&mut onboarding);
            let mut changes = Changeset::new();
            changes.update_if_changed(&ctx, services.ids.as_ref(), &before, &onboarding, action)?;
            Ok(((), changes))
        })
    })
    .await
}
