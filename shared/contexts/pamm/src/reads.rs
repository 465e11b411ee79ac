//! What managers, investors and admins read: the offers to invest in, an investor's own
//! statement (their holding at the last NAV with their high-water mark, fee debt and stop
//! level, and their line of each rollover), a manager's investors, the NAV history and the
//! fee income. An investor sees only their own holding; a manager their own offers' holders.

use brokeros_kernel::money::Currency;
use brokeros_kernel::paging::page_limit;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, PageParams, Result, normalize};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use crate::Services;
use crate::model::cycle::{FundState, RolloverRecord};
use crate::model::fund::{Payee, worth};
use crate::model::request::RequestStatus;
use crate::model::{Offer, OfferStatus};
use crate::offers::view;
use crate::repo::{self, OfferListing, StoredHolding};
use crate::requests::{calling_client, fund_state, visible_offer};

/// Which offers to list: `status` (admins: any; others: active), or `mine` (a manager's own).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OfferFilter {
    pub status: Option<String>,
    #[serde(default)]
    pub mine: bool,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn status_of(text: &str) -> Result<OfferStatus> {
    [
        OfferStatus::PendingApproval,
        OfferStatus::Active,
        OfferStatus::Suspended,
    ]
    .into_iter()
    .find(|s| s.as_str() == text)
    .ok_or_else(|| {
        Error::invalid(
            "invalid_status",
            "status",
            "status is pending_approval, active or suspended",
        )
    })
}

/// A page of offers, newest first, each with the terms in force and its fund's last NAV.
pub async fn offers(
    services: &Services,
    principal: &Principal,
    filter: OfferFilter,
) -> Result<Value> {
    let limit = page_limit(filter.limit)?;
    let now = services.clock.now();
    let listing_owner;
    let listing = if filter.mine {
        if filter.status.is_some() {
            return Err(Error::invalid(
                "not_allowed",
                "status",
                "a manager's own offers are listed in every status",
            ));
        }
        listing_owner = calling_client(services, principal).await?;
        OfferListing::OfManager(&listing_owner)
    } else {
        principal.require_any(&[Role::Client, Role::Admin], "list PAMM offers")?;
        let status = filter.status.as_deref().map(status_of).transpose()?;
        match status {
            Some(status) if principal.has(Role::Admin) => OfferListing::InStatus(status),
            Some(OfferStatus::Active) | None => OfferListing::InStatus(OfferStatus::Active),
            Some(_) => {
                return Err(Error::Forbidden {
                    message: "clients list active offers only".into(),
                });
            }
        }
    };
    repo::offers_page(services, listing, limit, filter.cursor, |offer| {
        view(offer, now)
    })
    .await
}

/// A holding as its holder and the manager see it: at the fund's last NAV.
fn holding_view(stored: &StoredHolding, fund: &FundState, currency: Currency) -> Value {
    let h = &stored.holding;
    json!({
        "offer_id": stored.offer_id,
        "client_id": stored.client_id,
        "units": h.units,
        "nav": fund.nav_after,
        "equity": worth(h.units, fund.nav_after, currency.minor_unit().scale()),
        "hwm": h.hwm,
        "fee_debt": h.fee_debt,
        "net_invested": h.net_invested,
        "stop_equity": h.stop_equity,
        "first_invested_at": brokeros_kernel::keys::sortable_time(h.first_invested_at),
        "as_of_rollover": stored.rollover_id,
    })
}

fn currency_of(offer: &Offer) -> Result<Currency> {
    offer.latest().terms.currency()
}

/// The caller's statement in an offer: their holding now (none before their first rollover)
/// and a page of their rollover lines, newest first.
pub async fn statement(
    services: &Services,
    principal: &Principal,
    offer_id: &str,
    page: PageParams,
) -> Result<Value> {
    let client_id = calling_client(services, principal).await?;
    let offer = visible_offer(services, offer_id).await?;
    let limit = page_limit(page.limit)?;
    let fund = fund_state(services, &offer).await?;
    let holding = repo::holding(services, &offer.id, &client_id).await?;
    let (lines, next) =
        repo::lines_of_holder_page(services, &offer.id, &client_id, limit, page.cursor).await?;
    let pending = repo::requests_of_client(services, &offer.id, &client_id)
        .await?
        .into_iter()
        .filter(|r| r.status == RequestStatus::Pending)
        .collect::<Vec<_>>();
    let holding = match holding {
        Some(h) => Some(holding_view(&h, &fund, currency_of(&offer)?)),
        None => None,
    };
    Ok(json!({
        "offer_id": offer.id,
        "currency": offer.latest().terms.currency,
        "holding": holding,
        "pending_requests": pending,
        "rollovers": { "items": lines, "next": next },
    }))
}

/// An offer its manager (or an admin) reads the books of; others: not found.
async fn managed_offer(
    services: &Services,
    principal: &Principal,
    offer_id: &str,
) -> Result<Offer> {
    let offer_id = normalize::code("offer_id", offer_id, 80)?;
    let found = services.find::<Offer>(&offer_id).await?;
    let allowed = match &found {
        Some(_) if principal.has(Role::Admin) => true,
        Some(stored) if principal.has(Role::Client) => {
            brokeros_onboarding::client_id_of_user(services, &principal.sub).await?
                == Some(stored.entity.manager_client_id.clone())
        }
        _ => false,
    };
    match found {
        Some(stored) if allowed => Ok(stored.entity),
        _ => Err(Error::NotFound {
            entity: "PAMM offer",
            id: offer_id,
        }),
    }
}

/// A page of an offer's holders (its manager's or an admin's view), by holder id.
pub async fn investors(
    services: &Services,
    principal: &Principal,
    offer_id: &str,
    page: PageParams,
) -> Result<Value> {
    let offer = managed_offer(services, principal, offer_id).await?;
    let limit = page_limit(page.limit)?;
    let fund = fund_state(services, &offer).await?;
    let currency = currency_of(&offer)?;
    let (holdings, next) = repo::holdings_page(services, &offer.id, limit, page.cursor).await?;
    Ok(json!({
        "items": holdings.iter().map(|h| holding_view(h, &fund, currency)).collect::<Vec<_>>(),
        "next": next,
    }))
}

/// A page of an offer's pending requests (its manager's or an admin's view), by due rollover.
pub async fn pending_requests(
    services: &Services,
    principal: &Principal,
    offer_id: &str,
    page: PageParams,
) -> Result<Value> {
    let offer = managed_offer(services, principal, offer_id).await?;
    let limit = page_limit(page.limit)?;
    repo::requests_in_status_page(
        services,
        &offer.id,
        RequestStatus::Pending,
        limit,
        page.cursor,
    )
    .await
}

/// A page of an offer's rollovers, newest first: NAV, units, equity, fees and flows of each.
/// Approved offers' history is public to clients (what investors choose by).
pub async fn nav_history(
    services: &Services,
    principal: &Principal,
    offer_id: &str,
    page: PageParams,
) -> Result<Value> {
    principal.require_any(&[Role::Client, Role::Admin], "read PAMM NAV history")?;
    let offer = if principal.has(Role::Admin) {
        managed_offer(services, principal, offer_id).await?
    } else {
        visible_offer(services, offer_id).await?
    };
    let limit = page_limit(page.limit)?;
    repo::rollovers_page(services, &offer.id, limit, page.cursor, |r| json!(r)).await
}

/// The fee income of an offer (its manager's or an admin's view): per rollover, what the
/// manager and each IB were paid, and the totals.
pub async fn fee_income(
    services: &Services,
    principal: &Principal,
    offer_id: &str,
    page: PageParams,
) -> Result<Value> {
    let offer = managed_offer(services, principal, offer_id).await?;
    let limit = page_limit(page.limit)?;
    let shown = repo::rollovers_page(
        services,
        &offer.id,
        limit,
        page.cursor,
        |r: &RolloverRecord| {
            let paid = |manager: bool| -> Decimal {
                r.payouts
                    .iter()
                    .filter(|p| matches!(p.payee, Payee::Manager) == manager)
                    .map(|p| p.amount)
                    .sum()
            };
            json!({
                "rollover_id": r.id,
                "at": brokeros_kernel::keys::sortable_time(r.at),
                "status": r.status,
                "fees": r.fees,
                "payouts": r.payouts,
                "manager": paid(true),
                "ibs": paid(false),
            })
        },
    )
    .await?;
    Ok(json!({
        "offer_id": offer.id,
        "currency": offer.latest().terms.currency,
        "items": shown["items"],
        "next": shown["next"],
    }))
}

/// A page of the caller's holdings across offers.
pub async fn my_holdings(
    services: &Services,
    principal: &Principal,
    page: PageParams,
) -> Result<Value> {
    let client_id = calling_client(services, principal).await?;
    let limit = page_limit(page.limit)?;
    let (holdings, next) =
        repo::holdings_of_client(services, &client_id, limit, page.cursor).await?;
    let mut items = Vec::new();
    for stored in &holdings {
        let offer = services.get::<Offer>(&stored.offer_id).await?.entity;
        let fund = fund_state(services, &offer).await?;
        items.push(holding_view(stored, &fund, currency_of(&offer)?));
    }
    Ok(json!({ "items": items, "next": next }))
}
