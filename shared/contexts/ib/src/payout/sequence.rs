//! Where the payouts of each kind of period stand ([`PayoutSequence`]): apart from the payout
//! itself, because storing the first plan of a kind starts its sequence.

use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::{OpContext, Result};

use crate::Services;
use crate::model::payout::{PayoutSequence, period_ended_before};
use crate::model::{Millis, Period, PeriodKind};

/// The next period of kind `schedule` to close: the one after the last closed, or the first
/// that can hold legs; when neither a period of the kind was closed nor a plan of the kind
/// stored, the one that ended before `now`.
pub async fn next_due(services: &Services, schedule: PeriodKind, now: Millis) -> Result<Period> {
    let sequence = services
        .find::<PayoutSequence>(crate::keys::period_kind_name(schedule))
        .await?;
    Ok(sequence.map_or_else(
        || period_ended_before(schedule, now),
        |s| s.entity.next_due(),
    ))
}

/// Stages the start of the payout sequence of kind `kind` at the period holding `from`, unless
/// it has started: the first plan of a kind to be stored says from when its periods are paid.
pub(crate) async fn stage_sequence_start(
    core: &brokeros_kernel::Core,
    ctx: &OpContext,
    kind: PeriodKind,
    from: Millis,
    changes: &mut Changeset,
) -> Result<()> {
    let id = crate::keys::period_kind_name(kind);
    if core.find::<PayoutSequence>(id).await?.is_none() {
        let sequence = PayoutSequence::starting(kind.period_of(from));
        changes.create(
            ctx,
            core.ids.as_ref(),
            &sequence,
            "ib.payout.sequence_started",
        )?;
    }
    Ok(())
}
