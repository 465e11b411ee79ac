//! The shapes of the answers that are built as JSON by hand (in a handler or a use case), for
//! the API's contract: what `json!({…})` makes, described once here. The answers that are
//! serialized from a type (a lead, a client, a deposit) are described by that type.
//! `tests/api` and the contract fuzzing (schemathesis) hold each shape to what is answered.

#![allow(dead_code)]

use time::OffsetDateTime;
use utoipa::ToSchema;

/// `GET /health`.
#[derive(ToSchema)]
pub struct ServiceHealth {
    /// `ok`
    pub status: String,
}

/// A captured lead (`POST /leads`): its id (the lead it was merged into, for a duplicate).
#[derive(ToSchema)]
pub struct LeadCaptured {
    pub lead_id: String,
    pub received_at: OffsetDateTime,
}

/// A confirmed marketing consent.
#[derive(ToSchema)]
pub struct ConsentConfirmed {
    /// `confirmed`
    pub status: String,
    pub marketing_consent: bool,
}

/// A note added to a lead's timeline.
#[derive(ToSchema)]
pub struct NoteAdded {
    pub lead_id: String,
    /// The audit event that records the note.
    pub event_id: String,
    pub note: Note,
}

#[derive(ToSchema)]
pub struct Note {
    pub text: String,
    pub author: String,
}

/// One change on a lead's timeline (its audit event).
#[derive(ToSchema)]
pub struct TimelineEntry {
    pub event_id: String,
    pub at: OffsetDateTime,
    /// `lead.captured`, `lead.status_changed`, `lead.note_added`, …
    pub action: String,
    /// Who made the change.
    pub actor: brokeros_kernel::audit::Actor,
    /// The fields it changed, before and after.
    pub changes: Vec<brokeros_kernel::audit::FieldChange>,
}

/// A client's profile as set: the client, and what the change set off (re-screening,
/// re-verification).
#[derive(serde::Serialize, ToSchema)]
pub struct ProfileChanged {
    #[serde(flatten)]
    pub client: brokeros_kernel::Versioned<brokeros_onboarding::model::Client>,
    /// The material fields changed and what they set off.
    pub profile_change: brokeros_onboarding::profile_change::ProfileChangeShown,
}

/// A client's KYC picture.
#[derive(ToSchema)]
pub struct KycPicture {
    pub client_id: String,
    pub kyc_status: brokeros_onboarding::model::KycStatus,
    /// Null until the client has a profile.
    #[schema(required)]
    pub profile: Option<brokeros_onboarding::model::KycProfile>,
    pub documents: Vec<brokeros_onboarding::model::ClientDocument>,
    pub onboardings: Vec<brokeros_onboarding::model::Onboarding>,
}

/// A client's wallets and their latest deposits and withdrawals.
#[derive(ToSchema)]
pub struct Wallets {
    pub client_id: String,
    pub wallets: Vec<WalletBalance>,
    pub deposits: Vec<DepositSummary>,
    pub withdrawals: Vec<WithdrawalSummary>,
}

/// One wallet (currency) of a client.
#[derive(ToSchema)]
pub struct WalletBalance {
    pub currency: String,
    /// Decimal strings (`"1000.00"`), as every amount.
    pub available: String,
    pub reserved: String,
    pub total: String,
}

#[derive(ToSchema)]
pub struct DepositSummary {
    pub deposit_id: String,
    pub amount: String,
    pub currency: String,
    pub status: String,
    #[schema(required)]
    pub created_at: Option<OffsetDateTime>,
}

#[derive(ToSchema)]
pub struct WithdrawalSummary {
    pub withdrawal_id: String,
    pub amount: String,
    pub currency: String,
    pub status: String,
    #[schema(required)]
    pub requested_at: Option<OffsetDateTime>,
}

/// A KYC provider's result, applied.
#[derive(ToSchema)]
pub struct KycResultApplied {
    pub check_id: String,
    pub status: brokeros_onboarding::kyc::model::record::CheckStatus,
}

/// A payment provider's event, queued for the deposit consumer.
#[derive(ToSchema)]
pub struct PaymentEventQueued {
    /// `queued`
    pub status: String,
    pub message_id: String,
    pub event_id: String,
}

/// A payment provider's event of a type deposits do not follow.
#[derive(ToSchema)]
pub struct PaymentEventIgnored {
    /// `ignored`
    pub status: String,
    pub event_type: String,
}

/// Every version of the routing rules, oldest first.
#[derive(ToSchema)]
pub struct RoutingRulesHistory {
    /// The version in force (the last).
    #[schema(required)]
    pub in_force: Option<u32>,
    pub items: Vec<brokeros_payments::model::RoutingDocument>,
}

/// A workflow run started (`contest-scoring`, a prize proposal).
#[derive(ToSchema)]
pub struct ExecutionStarted {
    /// The execution's ARN.
    pub execution: String,
}

/// An IB as the API shows it, with its standing and parent now.
#[derive(serde::Serialize, ToSchema)]
pub struct IbView {
    #[serde(flatten)]
    pub ib: brokeros_ib::model::Ib,
    pub current_standing: String,
    /// Null for a master IB.
    #[schema(required)]
    pub current_parent: Option<String>,
}

/// The IB portal's dashboard: the IB, and its counts and earnings.
#[derive(serde::Serialize, ToSchema)]
pub struct IbDashboard {
    #[serde(flatten)]
    pub ib: IbView,
    pub dashboard: DashboardFigures,
}

#[derive(serde::Serialize, ToSchema)]
pub struct DashboardFigures {
    pub direct_clients: u64,
    pub subtree_clients: u64,
    pub sub_ibs: u64,
    pub direct_sub_ibs: u64,
    pub earnings: Earnings,
}

/// Lots, accruals and payments per period, the current period first.
#[derive(serde::Serialize, ToSchema)]
pub struct Earnings {
    /// Null while no plan assigns the IB a period.
    #[schema(required)]
    pub period_kind: Option<String>,
    pub currency: String,
    pub periods: Vec<brokeros_ib::portal::PeriodEarnings>,
}

/// A member of the IB tree (or of the caller's subtree).
#[derive(ToSchema)]
pub struct TreeMember {
    pub id: String,
    pub name: String,
    /// Levels below the subtree's root (0 for the root).
    pub level: u32,
    /// Null for a master IB.
    #[schema(required)]
    pub parent: Option<String>,
    pub standing: String,
    #[schema(required)]
    pub created_at: Option<OffsetDateTime>,
}

/// An IB's referred clients (masked), or a sub-IB's.
#[derive(ToSchema)]
pub struct ReferredClients {
    pub ib_id: String,
    pub items: Vec<ReferredClient>,
}

/// A referred client as an IB sees it: contact data masked, the last name as its initial.
/// Only `client_id` when the client record is not there.
#[derive(ToSchema)]
pub struct ReferredClient {
    pub client_id: String,
    #[schema(required = false)]
    pub first_name: String,
    #[schema(required = false)]
    pub last_name_initial: Option<String>,
    #[schema(required = false)]
    pub email: Option<String>,
    #[schema(required = false)]
    pub phone: Option<String>,
    #[schema(required = false)]
    pub country: String,
    #[schema(required = false)]
    pub status: String,
    #[schema(required = false)]
    pub kyc_status: brokeros_onboarding::model::KycStatus,
    #[schema(required = false)]
    pub registered_at: Option<OffsetDateTime>,
    #[schema(required = false)]
    pub attributed_by: brokeros_ib::model::AttributedBy,
}

/// An invitation with the link the invitee applies through.
#[derive(serde::Serialize, ToSchema)]
pub struct InvitationView {
    #[serde(flatten)]
    pub invitation: brokeros_ib::model::Invitation,
    pub link: String,
}

/// The caller's invitations and what is left of its allowance.
#[derive(ToSchema)]
pub struct Invitations {
    pub allowance: u32,
    pub issued: u32,
    pub items: Vec<InvitationView>,
}

/// An IB's accrual legs of a period.
#[derive(ToSchema)]
pub struct Accruals {
    pub ib_id: String,
    /// `<kind>:<label>`.
    pub period: String,
    /// The legs with their explanations.
    pub items: Vec<brokeros_ib::accruals::StoredLeg>,
    /// The `cursor` of the next page; null on the last.
    #[schema(required)]
    pub next_cursor: Option<String>,
}

/// The referral codes a lead's touches carried.
#[derive(ToSchema)]
pub struct LeadReferrals {
    pub lead_id: String,
    pub touches: Vec<brokeros_ib::model::ReferralTouch>,
}

/// A client's IB: the attribution recorded, or (`recorded: false`) the one derived from the
/// client's lead and not recorded yet.
#[derive(serde::Serialize, ToSchema)]
pub struct AttributionView {
    #[serde(flatten)]
    pub attribution: brokeros_ib::model::ClientAttribution,
    #[schema(required = false)]
    pub recorded: bool,
}

/// Every version of a commission plan, as stored.
#[derive(ToSchema)]
pub struct PlanVersions {
    pub id: String,
    /// Each version's document as it was stored, oldest first.
    pub versions: Vec<brokeros_ib::model::plan::PlanDocument>,
}

/// A payout run started or resumed.
#[derive(ToSchema)]
pub struct PayoutStarted {
    pub period_id: String,
    pub resumed: bool,
    pub execution_arn: String,
}

/// A statement whose credit is tried again.
#[derive(ToSchema)]
pub struct StatementRetried {
    pub statement: brokeros_ib::model::payout::IbStatement,
    pub execution_arn: String,
}

/// A published contest as anyone sees it.
#[derive(ToSchema)]
pub struct PublicContest {
    pub id: String,
    pub status: brokeros_contests::model::contest::ContestStatus,
    pub version: u32,
    pub phase: brokeros_contests::model::contest::Phase,
    pub registration_open: bool,
    pub definition: brokeros_contests::model::definition::ContestDefinition,
}

/// A contest as its managers see it: the record, its phase now and whether registration is
/// open.
#[derive(serde::Serialize, ToSchema)]
pub struct ContestView {
    #[serde(flatten)]
    pub record: brokeros_contests::model::contest::ContestRecord,
    pub phase: brokeros_contests::model::contest::Phase,
    pub registration_open: bool,
}

/// One version of a contest's definition: its reference and its document as stored.
#[derive(serde::Serialize, ToSchema)]
pub struct ContestVersion {
    #[serde(flatten)]
    pub version: brokeros_contests::model::contest::VersionRef,
    pub id: String,
    /// The version's document as it was stored.
    pub definition: brokeros_contests::model::definition::ContestDefinition,
}

/// A page of a contest's leaderboard snapshot.
#[derive(ToSchema)]
pub struct Leaderboard {
    pub contest: String,
    /// The snapshot's number; 0 before the first.
    pub snapshot: u64,
    #[schema(required)]
    pub published_at: Option<OffsetDateTime>,
    #[serde(rename = "final")]
    pub is_final: bool,
    /// Ranked entrants in the snapshot.
    pub entrants: u64,
    /// The rows of this page: rank, masked name and login, score.
    pub items: Vec<brokeros_contests::live::BoardRow>,
    #[schema(required)]
    pub next: Option<String>,
}

/// An entrant's score and its explanation.
#[derive(ToSchema)]
pub struct EntrantScore {
    pub entrant: String,
    pub login: u64,
    pub status: brokeros_contests::model::entrant::EntrantStatus,
    #[schema(required)]
    pub rank: Option<u32>,
    /// Null until a scoring run ranked the entrant.
    #[schema(required)]
    pub standing: Option<brokeros_contests::model::ranking::StandingStatus>,
    pub prize_eligible: bool,
    /// How each number was reached.
    pub explanation: brokeros_contests::model::scoring::Explanation,
}

/// A PAMM offer: its record, and the terms in force now.
#[derive(serde::Serialize, ToSchema)]
pub struct PammOfferView {
    #[serde(flatten)]
    pub offer: brokeros_pamm::model::Offer,
    pub terms_in_force: brokeros_pamm::model::TermsVersion,
}

/// A holder's holding in a PAMM offer at the fund's last NAV.
#[derive(serde::Serialize, ToSchema)]
pub struct PammHoldingView {
    pub offer_id: String,
    pub client_id: String,
    pub units: String,
    /// The NAV after the last rollover.
    pub nav: String,
    /// The units at that NAV, to the cent.
    pub equity: String,
    /// The equity, net of fees, above which a gain is new profit.
    pub hwm: String,
    pub fee_debt: String,
    pub net_invested: String,
    #[schema(required)]
    pub stop_equity: Option<String>,
    pub first_invested_at: OffsetDateTime,
    /// The rollover that left the holding so.
    pub as_of_rollover: String,
}

/// An investor's statement in a PAMM offer.
#[derive(serde::Serialize, ToSchema)]
pub struct PammInvestorStatement {
    pub offer_id: String,
    pub currency: String,
    /// None before the investor's first rollover and after they left.
    #[schema(required)]
    pub holding: Option<PammHoldingView>,
    pub pending_requests: Vec<brokeros_pamm::model::request::InvestorRequest>,
    /// The investor's line of each rollover, newest first.
    pub rollovers: brokeros_kernel::Page<brokeros_pamm::model::cycle::RolloverLine>,
}

/// What one rollover of a PAMM offer paid in fees.
#[derive(serde::Serialize, ToSchema)]
pub struct PammFeeRow {
    pub rollover_id: String,
    pub at: OffsetDateTime,
    pub status: brokeros_pamm::model::cycle::RolloverStatus,
    pub fees: brokeros_pamm::model::cycle::FeeTotals,
    pub payouts: Vec<brokeros_pamm::model::fund::Payout>,
    /// Paid to the manager's wallet.
    pub manager: String,
    /// Paid to IBs' payables.
    pub ibs: String,
}

/// A PAMM offer's fee income, per rollover, newest first.
#[derive(serde::Serialize, ToSchema)]
pub struct PammFeeIncome {
    pub offer_id: String,
    pub currency: String,
    pub items: Vec<PammFeeRow>,
    #[schema(required)]
    pub next: Option<String>,
}
