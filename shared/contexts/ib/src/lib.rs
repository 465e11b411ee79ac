//! Introducing brokers: partners and their hierarchy, commission plans kept as configuration,
//! accruals explained from the trading platform's deals, statements and their payout.
//!
//! Every amount paid to a partner can be explained from the deals, the plan version and the
//! tree as they stood at each deal's time ([`model`]), and no period is paid twice.
//!
//! The partner side: applications and their review ([`partners`]), the IB's standing, moves in
//! the tree and sub-IB invitations; which IB a client belongs to ([`attribution`]); the
//! partner managers' and the IBs' reads, each IB kept to its own subtree ([`portal`]); and the
//! part of the tree a batch of deals needs, read by key ([`hierarchy::load_hierarchy`]).

pub mod accruals;
pub mod attribution;
pub mod config;
pub mod deals;
pub mod fx;
pub mod hierarchy;
pub mod keys;
pub mod model;
pub mod partners;
pub mod plans;
pub mod portal;
pub mod preview;
mod repo;
mod services;
pub mod views;

pub use hierarchy::load_hierarchy;
pub use services::Services;

use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result};
use time::OffsetDateTime;

use crate::model::Millis;

/// `at` in milliseconds since the epoch, the time unit of deals and of the tree's timelines.
pub fn millis(at: OffsetDateTime) -> Millis {
    (at.unix_timestamp_nanos() / 1_000_000) as Millis
}

/// When a change takes effect: `requested`, or now. A change never takes effect in the past,
/// so it never rewrites what deals already earned.
pub(crate) fn effective_msc(
    requested: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<Millis> {
    match requested {
        None => Ok(millis(now)),
        Some(at) if at >= now => Ok(millis(at)),
        Some(_) => Err(Error::invalid(
            "effective_in_past",
            "effective_at",
            "effective_at may not be in the past: a change never rewrites what deals already earned",
        )),
    }
}

/// Partner managers (and admins) run the partner business.
pub(crate) fn require_partner_manager(principal: &Principal, action: &str) -> Result<()> {
    principal.require_any(&[Role::Partners, Role::Admin], action)
}

/// The IB the calling portal user signs in as (its marker, read by key).
pub async fn own_ib_id(services: &Services, principal: &Principal) -> Result<String> {
    principal.require_any(&[Role::Ib], "use the IB portal")?;
    repo::ib_of_user(services, &principal.sub)
        .await?
        .ok_or_else(|| Error::NotFound {
            entity: "IB",
            id: principal.sub.clone(),
        })
}

/// IB `id`, which must exist and not be terminated (`what` says what a terminated one refuses).
pub(crate) async fn working_ib(
    core: &brokeros_kernel::Core,
    id: &str,
    what: &str,
) -> Result<model::Ib> {
    let ib = core.get::<model::Ib>(id).await?.entity;
    ib.require_not_terminated(what)?;
    Ok(ib)
}
