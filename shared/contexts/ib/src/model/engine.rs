//! The commission engine: deals in, explained accrual legs out, one per deal, beneficiary, level
//! and kind. Pure: the tree, the plans and the exchange rates are handed in, nothing is read
//! or written here.
//!
//! The live path feeds deal changes one at a time or in batches, in whatever order they arrive,
//! to an [`EngineState`]; the preview streams a file of deals in time order through the same
//! state. A deal's legs depend on the deals of the same client before it (how long a position
//! was held, whether it was hedged, whether the client has qualified for the CPA), so a deal
//! arriving before a later one already accrued, a correction and a cancellation replay the
//! client's deals in time order and answer with the difference: reversal legs for what no
//! longer holds, new legs for what now does. Summed per deal, beneficiary, level and kind, the
//! legs equal those of one computation over the final deals in time order, whatever the order
//! of arrival (the property tests check it).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use brokeros_kernel::money::Currency;
use brokeros_kernel::{Error, Result};
use brokeros_trading::{DealAction, DealChange, DealChangeKind, PlatformDeal};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::fx::{FxRate, RateSource};
use super::plan::{CommissionPlan, EarnOn, Earns, Period, PlanBook};
use super::timeline::Millis;
use super::tree::{ClientNode, Hierarchy, IbNode, Link};
use brokeros_trading::positions::{AccountPositions, EntryFacts};

/// Who a leg pays: an IB of the chain, or the client its rebate goes back to. Written as its
/// display form (`ib:<id>`, `client:<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub enum Beneficiary {
    Ib(String),
    Client(String),
}

brokeros_kernel::string_schema!(Beneficiary);

impl Serialize for Beneficiary {
    /// Streamed as displayed: no copy, no intermediate string (legs are written by the
    /// thousand).
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl From<Beneficiary> for String {
    fn from(who: Beneficiary) -> String {
        who.to_string()
    }
}

impl TryFrom<String> for Beneficiary {
    type Error = String;

    fn try_from(text: String) -> std::result::Result<Beneficiary, String> {
        match text.split_once(':') {
            Some(("ib", id)) => Ok(Beneficiary::Ib(id.to_string())),
            Some(("client", id)) => Ok(Beneficiary::Client(id.to_string())),
            _ => Err(format!("'{text}' is neither ib:ID nor client:ID")),
        }
    }
}

impl fmt::Display for Beneficiary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Beneficiary::Ib(id) => write!(f, "ib:{id}"),
            Beneficiary::Client(id) => write!(f, "client:{id}"),
        }
    }
}

/// What a leg is for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LegKind {
    /// The deal's volume or commission or spread, by the plan's matching rule.
    Commission,
    /// The client's cashback, taken from level 0's commission leg.
    Rebate,
    /// The plan's one-time amount for a qualified client, on the deal that qualified it.
    Cpa,
    /// The share of the client's result on the deal: positive when the client lost, negative
    /// when it gained (the statement nets a period and carries a gain forward).
    RevenueShare,
}

impl LegKind {
    pub fn name(self) -> &'static str {
        match self {
            LegKind::Commission => "commission",
            LegKind::Rebate => "rebate",
            LegKind::Cpa => "cpa",
            LegKind::RevenueShare => "revenue_share",
        }
    }
}

/// Why fewer lots counted than the deal traded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = VolumeExclusion)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// The deal traded fewer lots than the plan's minimum.
    BelowMinLots,
    /// The position was closed sooner than the plan's minimum hold time.
    HeldTooShort,
}

impl Exclusion {
    pub fn name(self) -> &'static str {
        match self {
            Exclusion::BelowMinLots => "below_min_lots",
            Exclusion::HeldTooShort => "held_too_short",
        }
    }
}

/// The volume a deal counted for, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VolumeCounted {
    /// Lots the deal traded.
    pub deal_lots: Decimal,
    /// Of them, the lots of the entries the plan pays for (`earn_on`).
    pub entry_lots: Decimal,
    /// Of `entry_lots`, those hedged by an open opposite position (not earning).
    pub hedged_lots: Decimal,
    /// How long the closed position was held, when the deal closed one.
    #[schema(required)]
    pub held_ms: Option<i64>,
    #[schema(required)]
    pub excluded: Option<Exclusion>,
    /// Lots earning before the volume modifier: entry lots less hedged and excluded ones.
    pub earning_lots: Decimal,
    /// The plan's modifier for the deal's account group.
    pub modifier: Decimal,
    /// `earning_lots × modifier`: what per-lot rates and tiers count.
    pub counted_lots: Decimal,
}

/// How a basis amount was computed: the matching rule's method, or the plan's CPA or revenue
/// share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = EarningMethod)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    PerLot,
    CommissionShare,
    SpreadShare,
    Cpa,
    RevenueShare,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::PerLot => "per_lot",
            Method::CommissionShare => "commission_share",
            Method::SpreadShare => "spread_share",
            Method::Cpa => "cpa",
            Method::RevenueShare => "revenue_share",
        }
    }
}

impl From<Earns> for Method {
    fn from(earns: Earns) -> Method {
        match earns {
            Earns::PerLot(_) => Method::PerLot,
            Earns::CommissionShare(_) => Method::CommissionShare,
            Earns::SpreadShare(_) => Method::SpreadShare,
        }
    }
}

/// Why a leg is zero although its deal earned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = LegNote)]
#[serde(rename_all = "snake_case")]
pub enum Note {
    /// The IB was not active at the deal's time.
    Forfeited,
}

impl Note {
    pub fn text(self) -> &'static str {
        match self {
            Note::Forfeited => FORFEITED,
        }
    }
}

/// What one deal earned under one plan, before it was shared along the chain: shared by the
/// deal's legs of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AccrualBasis)]
pub struct Basis {
    pub plan_id: String,
    pub plan_version: u32,
    /// The matching rule; `None` for CPA and revenue share.
    #[schema(required)]
    pub rule_id: Option<String>,
    pub method: Method,
    /// The rule's rate (plan currency per lot) or percent, or the CPA amount.
    pub rate: Decimal,
    pub volume: VolumeCounted,
    /// The amount before levels, in `currency`.
    pub amount: Decimal,
    /// The plan's currency for per-lot rates and CPA, the deal's for shares.
    pub currency: Currency,
    pub period: Period,
}

/// Why a leg is what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = AccrualExplanation)]
pub struct Explanation {
    #[schema(value_type = Basis)]
    pub basis: Arc<Basis>,
    /// The level's fraction of the basis amount.
    pub level_fraction: Decimal,
    /// The leg in the basis currency, after the cap and the rebate.
    pub amount_in_basis_currency: Decimal,
    /// The per-deal cap cut this leg.
    pub capped: bool,
    /// The rate converting the basis currency into the beneficiary's; `None` when they are
    /// the same currency.
    #[schema(required)]
    pub fx: Option<FxRate>,
    /// Why the leg is zero although the deal earned, when it is.
    #[schema(required)]
    pub note: Option<Note>,
}

/// The decimal places legs keep: far below any currency's minor unit, so statements round
/// only once, and few enough that sums of legs stay exact (`Decimal` keeps 28 digits: a share
/// that divides, like a commission's part of a partly counted deal, would otherwise end in
/// digits that sums in different orders round differently).
pub const LEG_SCALE: u32 = 12;

fn at_leg_scale(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(
        LEG_SCALE,
        rust_decimal::RoundingStrategy::MidpointNearestEven,
    )
}

/// One accrual leg. `amount` is in `currency` (the beneficiary's), at [`LEG_SCALE`] decimal
/// places, not yet rounded to the currency: statements do that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Accrual {
    #[schema(value_type = String)]
    pub server: Arc<str>,
    pub deal: u64,
    pub revision: u32,
    /// How many times the engine recomputed this revision differently (after an earlier deal
    /// arrived late): part of the id, so a recomputed leg never collides with the one it
    /// replaces.
    pub generation: u32,
    /// Cancels the leg of the same id less `:x`, with the opposite amount.
    pub reversal: bool,
    pub beneficiary: Beneficiary,
    pub level: u32,
    pub kind: LegKind,
    pub login: u64,
    #[schema(value_type = String)]
    pub client: Arc<str>,
    pub time_msc: Millis,
    pub currency: Currency,
    pub amount: Decimal,
    pub explanation: Explanation,
}

/// What [`Note::Forfeited`] says.
pub const FORFEITED: &str = "ib not active at the deal's time: leg forfeited, not redistributed";

impl Accrual {
    /// Deterministic: server, deal, revision, beneficiary, level, kind (and the generation and
    /// reversal marks), so storing a leg twice is idempotent.
    pub fn id(&self) -> String {
        let mut id = format!(
            "{}:{}:{}:{}:{}:{}",
            self.server,
            self.deal,
            self.revision,
            self.beneficiary,
            self.level,
            self.kind.name()
        );
        if self.generation > 0 {
            id.push_str(&format!(":g{}", self.generation));
        }
        if self.reversal {
            id.push_str(":x");
        }
        id
    }

    /// The period this leg is counted in (the governing plan's, at the deal's time).
    pub fn period(&self) -> Period {
        self.explanation.basis.period
    }

    fn reversed(&self) -> Accrual {
        let mut leg = self.clone();
        leg.reversal = true;
        leg.amount = -self.amount;
        leg.explanation.amount_in_basis_currency = -self.explanation.amount_in_basis_currency;
        leg
    }
}

/// What the engine reads: the tree, every plan version, the rates, and the server the deals
/// come from (part of each leg's id).
pub struct Engine<'a> {
    pub plans: &'a PlanBook,
    pub tree: &'a Hierarchy,
    pub rates: &'a dyn RateSource,
    pub server: Arc<str>,
}

/// A client's progress towards its CPA, in time order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct CpaProgress {
    first_deposit: Option<(Millis, Decimal, String)>,
    /// Lots closed since the first deposit: round turns, so opening and closing one lot
    /// counts one lot.
    lots_since_deposit: Decimal,
    /// Plans that already paid the client's CPA.
    paid: Vec<String>,
}

/// A client's deal as the live path keeps it between batches: the revision computed, the
/// generation its legs carry, and the legs as they stand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookedDeal {
    pub deal: PlatformDeal,
    pub revision: u32,
    pub generation: u32,
    pub legs: Vec<Accrual>,
}

/// What the engine knows of a client after its deals in time order, without the deals: the
/// open positions of each account, the CPA progress and the last deal's time and ticket. A
/// stateless live path keeps it between batches ([`EngineState::client_state`]) and takes
/// it up ([`EngineState::restore_client_state`]) to compute deals that come after every deal
/// it has seen, without reading them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientState {
    positions: BTreeMap<u64, AccountPositions>,
    cpa: CpaProgress,
    last: Option<(Millis, u64)>,
}

/// A deal a [`ClientState`] moves past without keeping it: the deal, and the plans whose CPA
/// its legs paid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedDeal {
    pub deal: PlatformDeal,
    pub cpa_paid: Vec<String>,
}

impl ClientState {
    /// The time and ticket of the client's last deal, in time order.
    pub fn last(&self) -> Option<(Millis, u64)> {
        self.last
    }

    /// This state moved past `deals` (in time order, each after the state's last deal), as
    /// restoring them with their legs and taking the state again would, without keeping them:
    /// where a replay that starts after them can start.
    pub fn passing(self, deals: impl IntoIterator<Item = PassedDeal>) -> ClientState {
        let mut book = ClientBook {
            positions: self.positions.into_iter().collect(),
            cpa: self.cpa,
            last: self.last,
            ..ClientBook::default()
        };
        for passed in deals {
            book.advance(&passed.deal);
            for plan in passed.cpa_paid {
                if !book.cpa.paid.contains(&plan) {
                    book.cpa.paid.push(plan);
                }
            }
            book.last = Some((passed.deal.time_msc, passed.deal.deal));
        }
        book.state()
    }

    /// The logins with open positions.
    pub fn logins(&self) -> impl Iterator<Item = u64> + '_ {
        self.positions.keys().copied()
    }
}

#[derive(Debug, Clone)]
struct Booked {
    deal: PlatformDeal,
    revision: u32,
    generation: u32,
    /// `None` until first computed.
    legs: Option<Vec<Accrual>>,
}

/// One client's deals and what they built: positions per account, the CPA progress.
#[derive(Debug, Clone, Default)]
struct ClientBook {
    positions: HashMap<u64, AccountPositions>,
    cpa: CpaProgress,
    last: Option<(Millis, u64)>,
    history: BTreeMap<(Millis, u64), Booked>,
    key_of_deal: HashMap<u64, ((Millis, u64), u32)>,
    /// What the client stood at before its first deal in `history`, when the book was taken up
    /// from a state ([`EngineState::restore_client_after`]): replays start there.
    base: Option<Box<ClientState>>,
}

/// The client a deal belongs to, and its id as legs share it.
struct Who<'t> {
    node: &'t ClientNode,
    id: Arc<str>,
}

/// The engine's memory between batches.
#[derive(Debug, Clone)]
pub struct EngineState {
    books: HashMap<String, ClientBook>,
    keep_history: bool,
    /// A change that fails leaves its client as it found it (else as it was left: the caller
    /// discards the state).
    restore_on_failure: bool,
}

impl EngineState {
    /// For the live path: keeps every client's deals, so late, corrected and cancelled deals
    /// are answered with reversals and recomputed legs.
    pub fn live() -> EngineState {
        EngineState {
            books: HashMap::new(),
            keep_history: true,
            restore_on_failure: true,
        }
    }

    /// [`EngineState::live`] for a caller that discards the state when a change fails and
    /// starts again from its stored books (the stateless accrual): a change that fails leaves
    /// its client's state unspecified, which spares the copy of the client's book that
    /// restoring it would take before every late, corrected or cancelled deal.
    pub fn live_discarded_on_failure() -> EngineState {
        EngineState {
            restore_on_failure: false,
            ..EngineState::live()
        }
    }

    /// For one pass over deals in time order (the preview): keeps open positions and CPA
    /// progress only, so memory does not grow with the number of deals; a deal out of time
    /// order, a correction or a cancellation is refused.
    pub fn streaming() -> EngineState {
        EngineState {
            books: HashMap::new(),
            keep_history: false,
            restore_on_failure: true,
        }
    }

    /// Applies one change of the deal feed and appends the legs it causes to `out`. A change
    /// already applied (same or older revision) causes nothing.
    pub fn apply(
        &mut self,
        engine: &Engine<'_>,
        change: &DealChange,
        out: &mut Vec<Accrual>,
    ) -> Result<()> {
        let deal = &change.deal;
        if deal.action.is_trade() && deal.volume <= Decimal::ZERO {
            return Err(Error::invalid(
                "volume_not_positive",
                "deals.volume",
                format!(
                    "deal {}: volume must be positive, not {}",
                    deal.deal, deal.volume
                ),
            ));
        }
        let Some(client) = engine.tree.client_of_login(deal.login) else {
            return Ok(());
        };
        let who = Who {
            node: client,
            id: Arc::from(client.id.as_str()),
        };
        if !self.books.contains_key(&client.id) {
            self.books.insert(client.id.clone(), ClientBook::default());
        }
        let book = self.books.get_mut(&client.id).expect("inserted above");
        let key = (deal.time_msc, deal.deal);
        let known = book.key_of_deal.get(&deal.deal).copied();
        if let Some((_, revision)) = known
            && change.revision <= revision
        {
            return Ok(());
        }
        let in_order = known.is_none()
            && change.kind != DealChangeKind::Cancelled
            && book.last.is_none_or(|last| key > last);
        let start = out.len();
        if in_order {
            // The deal moves its account's positions and the CPA progress before its legs are
            // computed: kept, so that a deal that fails leaves the client as it found it (a
            // retry, or the next deal, starts where this attempt did).
            let saved = (self.keep_history && self.restore_on_failure)
                .then(|| (book.positions.get(&deal.login).cloned(), book.cpa.clone()));
            if let Err(error) = book.compute(engine, deal, change.revision, 0, &who, out) {
                out.truncate(start);
                if let Some((positions, cpa)) = saved {
                    match positions {
                        Some(positions) => book.positions.insert(deal.login, positions),
                        None => book.positions.remove(&deal.login),
                    };
                    book.cpa = cpa;
                }
                return Err(error);
            }
            book.last = Some(key);
            if self.keep_history {
                book.remember(deal, change.revision, Some(out[start..].to_vec()));
            }
            return Ok(());
        }
        if !self.keep_history {
            return Err(Error::invalid(
                "deals_out_of_order",
                "deals",
                format!(
                    "deal {} at {} ms comes after a later deal of the same client (or corrects one): a single pass needs deals in time order",
                    deal.deal, deal.time_msc
                ),
            ));
        }
        let before = self.restore_on_failure.then(|| book.clone());
        let result = book.change(engine, change, known, &who, out);
        if result.is_err() {
            if let Some(before) = before {
                *book = before;
            }
            out.truncate(start);
        }
        result
    }

    /// Applies a deal as booked (revision 0).
    pub fn apply_deal(
        &mut self,
        engine: &Engine<'_>,
        deal: &PlatformDeal,
        out: &mut Vec<Accrual>,
    ) -> Result<()> {
        self.apply(
            engine,
            &DealChange {
                kind: DealChangeKind::Added,
                revision: 0,
                deal: deal.clone(),
                changed_at_msc: deal.time_msc,
            },
            out,
        )
    }

    /// Takes up `client`'s deals as an earlier run left them (see [`EngineState::booked_deals`]),
    /// rebuilding its positions and CPA progress from them, so that a stateless live path
    /// continues where the last batch stopped: a deal after them is computed in order, a late,
    /// corrected or cancelled one replays them.
    pub fn restore_client(&mut self, client: &str, deals: Vec<BookedDeal>) {
        self.restore_client_after(client, None, deals);
    }

    /// [`EngineState::restore_client`] from `state` (what [`EngineState::client_state`] said
    /// after the client's deals up to its last one) and the client's deals after that one: a
    /// later deal is computed in order, a late, corrected or cancelled one after `state`'s last
    /// deal replays from `state` on. A change at or before that deal is refused (`Internal`):
    /// the caller restores from an earlier state.
    pub fn restore_client_after(
        &mut self,
        client: &str,
        state: Option<ClientState>,
        deals: Vec<BookedDeal>,
    ) {
        let mut book = ClientBook::default();
        if let Some(state) = state {
            book.positions = state.positions.clone().into_iter().collect();
            book.cpa = state.cpa.clone();
            book.last = state.last;
            book.base = Some(Box::new(state));
        }
        for booked in deals {
            book.remember(&booked.deal, booked.revision, Some(booked.legs));
            if let Some(entry) = book
                .history
                .get_mut(&(booked.deal.time_msc, booked.deal.deal))
            {
                entry.generation = booked.generation;
            }
        }
        let keys: Vec<(Millis, u64)> = book.history.keys().copied().collect();
        for key in keys {
            book.pass(key);
        }
        if let Some(last) = book.history.keys().next_back() {
            book.last = Some(*last);
        }
        self.books.insert(client.to_string(), book);
    }

    /// Takes up `client` as [`EngineState::client_state`] left it, without its deals: a deal
    /// after its last one is computed in order; a late, corrected or cancelled deal needs the
    /// deals ([`EngineState::restore_client`]) and must not be applied over this state.
    pub fn restore_client_state(&mut self, client: &str, state: ClientState) {
        self.restore_client_after(client, Some(state), Vec::new());
    }

    /// What the engine knows of `client` after its deals, without them; `None` for a client
    /// it has not seen.
    pub fn client_state(&self, client: &str) -> Option<ClientState> {
        self.books.get(client).map(ClientBook::state)
    }

    /// Recomputes `client`'s deals from `from` (time, ticket) on, as restored, and answers each
    /// deal whose stored legs differ with their reversal and the new legs: what finishes a
    /// replay whose corrections were written in several steps, each step having left the deals
    /// from `from` on with the legs they had before. A client the tree does not know changes
    /// nothing.
    pub fn recompute_from(
        &mut self,
        engine: &Engine<'_>,
        client: &str,
        from: (Millis, u64),
        out: &mut Vec<Accrual>,
    ) -> Result<()> {
        let (Some(node), Some(book)) = (engine.tree.client(client), self.books.get_mut(client))
        else {
            return Ok(());
        };
        let who = Who {
            node,
            id: Arc::from(client),
        };
        let start = out.len();
        let before = self.restore_on_failure.then(|| book.clone());
        let result = book.replay(engine, &who, from, out);
        if result.is_err() {
            if let Some(before) = before {
                *book = before;
            }
            out.truncate(start);
        }
        result
    }

    /// `client`'s computed deals as they stand, in time order: what [`EngineState::restore_client`]
    /// takes up. Empty without a live state's history.
    pub fn booked_deals(&self, client: &str) -> Vec<BookedDeal> {
        self.books
            .get(client)
            .map(|book| {
                book.history
                    .values()
                    .filter_map(|b| {
                        Some(BookedDeal {
                            deal: b.deal.clone(),
                            revision: b.revision,
                            generation: b.generation,
                            legs: b.legs.clone()?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Open positions over every account: what a single pass keeps in memory.
    pub fn open_positions(&self) -> usize {
        self.books
            .values()
            .flat_map(|b| b.positions.values())
            .map(AccountPositions::open_positions)
            .sum()
    }
}

impl ClientBook {
    /// What the book knows after its deals, without them.
    fn state(&self) -> ClientState {
        ClientState {
            positions: self
                .positions
                .iter()
                .filter(|(_, p)| p.open_positions() > 0)
                .map(|(login, p)| (*login, p.clone()))
                .collect(),
            cpa: self.cpa.clone(),
            last: self.last,
        }
    }

    /// A late deal, a correction or a cancellation: the history changes and the client's deals
    /// are replayed.
    fn change(
        &mut self,
        engine: &Engine<'_>,
        change: &DealChange,
        known: Option<((Millis, u64), u32)>,
        who: &Who<'_>,
        out: &mut Vec<Accrual>,
    ) -> Result<()> {
        let deal = &change.deal;
        // Deals before the change keep their legs: a deal's legs depend only on the deals
        // before it.
        let mut from = (deal.time_msc, deal.deal);
        if let Some((old_key, _)) = known
            && let Some(old) = self.history.remove(&old_key)
        {
            out.extend(old.legs.iter().flatten().map(Accrual::reversed));
            from = from.min(old_key);
        }
        self.key_of_deal.remove(&deal.deal);
        if change.kind == DealChangeKind::Cancelled {
            // A later revision of a cancelled deal is still cancelled: remember the revision.
            self.key_of_deal
                .insert(deal.deal, ((Millis::MIN, 0), change.revision));
        } else {
            self.remember(deal, change.revision, None);
        }
        self.replay(engine, who, from, out)
    }

    /// Keeps a deal's revision and, once computed, its legs.
    fn remember(&mut self, deal: &PlatformDeal, revision: u32, legs: Option<Vec<Accrual>>) {
        let key = (deal.time_msc, deal.deal);
        self.key_of_deal.insert(deal.deal, (key, revision));
        self.history.insert(
            key,
            Booked {
                deal: deal.clone(),
                revision,
                generation: 0,
                legs,
            },
        );
    }

    /// Rebuilds positions and CPA progress from the client's first deal, recomputes the deals
    /// from `from` on, and answers each deal whose legs changed with the reversal of the old
    /// ones and the new ones.
    fn replay(
        &mut self,
        engine: &Engine<'_>,
        who: &Who<'_>,
        from: (Millis, u64),
        out: &mut Vec<Accrual>,
    ) -> Result<()> {
        match &self.base {
            Some(base) if base.last.is_some_and(|last| from <= last) => {
                return Err(Error::Internal(format!(
                    "client {}: a change at {from:?} replays deals before the state the book was taken up from ({:?})",
                    who.id, base.last
                )));
            }
            Some(base) => {
                self.positions = base.positions.clone().into_iter().collect();
                self.cpa = base.cpa.clone();
            }
            None => {
                self.positions.clear();
                self.cpa = CpaProgress::default();
            }
        }
        let keys: Vec<(Millis, u64)> = self.history.keys().copied().collect();
        for key in keys {
            if key < from && self.pass(key) {
                continue;
            }
            let booked = &self.history[&key];
            let (deal, revision) = (booked.deal.clone(), booked.revision);
            let generation = booked.generation + u32::from(booked.legs.is_some());
            let mut legs = Vec::new();
            self.compute(engine, &deal, revision, generation, who, &mut legs)?;
            let booked = self.history.get_mut(&key).expect("listed above");
            match &booked.legs {
                Some(old) if same_legs(old, &legs) => continue,
                Some(old) => {
                    out.extend(old.iter().map(Accrual::reversed));
                    booked.generation = generation;
                }
                None => {
                    legs.iter_mut()
                        .for_each(|l| l.generation = booked.generation);
                }
            }
            out.extend(legs.iter().cloned());
            booked.legs = Some(legs);
        }
        self.last = self.history.keys().next_back().copied();
        Ok(())
    }

    /// Moves positions and CPA progress past the deal at `key`, keeping the legs it has (and
    /// the CPA they paid); `false` when the deal was never computed.
    fn pass(&mut self, key: (Millis, u64)) -> bool {
        let booked = &self.history[&key];
        let Some(legs) = &booked.legs else {
            return false;
        };
        let deal = booked.deal.clone();
        let paid_cpa: Vec<String> = legs
            .iter()
            .filter(|l| l.kind == LegKind::Cpa && !l.reversal)
            .map(|l| l.explanation.basis.plan_id.clone())
            .collect();
        self.advance(&deal);
        for plan in paid_cpa {
            if !self.cpa.paid.contains(&plan) {
                self.cpa.paid.push(plan);
            }
        }
        true
    }

    /// What `deal` does to the client's positions and CPA progress, but the CPA paid.
    fn advance(&mut self, deal: &PlatformDeal) -> EntryFacts {
        let facts = self.positions.entry(deal.login).or_default().apply(deal);
        if deal.action == DealAction::Balance
            && deal.profit > Decimal::ZERO
            && self.cpa.first_deposit.is_none()
        {
            self.cpa.first_deposit = Some((deal.time_msc, deal.profit, deal.currency.clone()));
        }
        if deal.action.is_trade()
            && self
                .cpa
                .first_deposit
                .as_ref()
                .is_some_and(|(at, _, _)| deal.time_msc >= *at)
        {
            self.cpa.lots_since_deposit += facts.closed_lots;
        }
        facts
    }

    /// The legs of `deal`, the client's deals before it having been applied.
    fn compute(
        &mut self,
        engine: &Engine<'_>,
        deal: &PlatformDeal,
        revision: u32,
        generation: u32,
        who: &Who<'_>,
        legs: &mut Vec<Accrual>,
    ) -> Result<()> {
        let facts = self.advance(deal);
        if !deal.action.is_trade() {
            return Ok(());
        }
        let level0 = engine.tree.ib_of_client_at(who.node, deal.time_msc);
        let chain: Vec<Link<'_>> = engine.tree.chain_from(level0, deal.time_msc).collect();
        let Some(level0) = chain.first() else {
            return Ok(());
        };
        let Some(plan_ids) = level0.ib.plans.at(deal.time_msc) else {
            return Ok(());
        };
        let leg = LegFactory {
            engine,
            deal,
            revision,
            generation,
            client: &who.id,
            chain: &chain,
            currency: Currency::from_code(&deal.currency),
        };
        for plan_id in plan_ids {
            let Some(plan) = engine.plans.in_force(plan_id, deal.time_msc) else {
                continue;
            };
            leg.commission(plan, &facts, legs)?;
            if let Some(share) = &plan.revenue_share {
                let client_loss = -(deal.profit + deal.swap + deal.commission);
                if !client_loss.is_zero() {
                    let basis = leg.basis(
                        plan,
                        None,
                        Method::RevenueShare,
                        share.percent,
                        VolumeCounted::default(),
                        client_loss * share.percent / Decimal::ONE_HUNDRED,
                        leg.deal_currency()?,
                    );
                    leg.share(plan, basis, LegKind::RevenueShare, false, legs)?;
                }
            }
            if let Some(cpa) = &plan.cpa
                && !self.cpa.paid.iter().any(|p| p == plan_id)
                && let Some((deposit_at, deposit, currency)) = &self.cpa.first_deposit
                && deal.time_msc - deposit_at <= i64::from(cpa.within_days) * 86_400_000
                && self.cpa.lots_since_deposit >= cpa.min_lots
            {
                let from = Currency::parse("deals.currency", currency)?;
                let (in_plan_currency, _) =
                    leg.convert(*deposit, from, plan.currency, *deposit_at)?;
                if in_plan_currency >= cpa.min_first_deposit {
                    self.cpa.paid.push(plan_id.clone());
                    let basis = leg.basis(
                        plan,
                        None,
                        Method::Cpa,
                        cpa.amount,
                        VolumeCounted::default(),
                        cpa.amount,
                        plan.currency,
                    );
                    leg.share(plan, basis, LegKind::Cpa, false, legs)?;
                }
            }
        }
        Ok(())
    }
}

fn same_legs(a: &[Accrual], b: &[Accrual]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            (x.revision, &x.beneficiary, x.level, x.kind, x.amount)
                == (y.revision, &y.beneficiary, y.level, y.kind, y.amount)
        })
}

/// Makes the legs of one deal.
struct LegFactory<'e, 'd> {
    engine: &'e Engine<'e>,
    deal: &'d PlatformDeal,
    revision: u32,
    generation: u32,
    client: &'d Arc<str>,
    chain: &'d [Link<'e>],
    /// The deal's currency, if Broker OS books it (read once per deal).
    currency: Option<Currency>,
}

impl LegFactory<'_, '_> {
    fn deal_currency(&self) -> Result<Currency> {
        match self.currency {
            Some(currency) => Ok(currency),
            None => Currency::parse("deals.currency", &self.deal.currency),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn basis(
        &self,
        plan: &CommissionPlan,
        rule_id: Option<&str>,
        method: Method,
        rate: Decimal,
        volume: VolumeCounted,
        amount: Decimal,
        currency: Currency,
    ) -> Arc<Basis> {
        Arc::new(Basis {
            plan_id: plan.id.clone(),
            plan_version: plan.version,
            rule_id: rule_id.map(str::to_string),
            method,
            rate,
            volume,
            amount: at_leg_scale(amount),
            currency,
            period: plan.period.period_of(self.deal.time_msc),
        })
    }

    /// The rule legs of the deal under `plan`: none when the plan pays none of its entries or
    /// no rule matches.
    fn commission(
        &self,
        plan: &CommissionPlan,
        facts: &EntryFacts,
        legs: &mut Vec<Accrual>,
    ) -> Result<()> {
        let deal = self.deal;
        let Some(rule) = plan.rule_for(&deal.symbol, &deal.group) else {
            return Ok(());
        };
        let volume = counted_volume(plan, deal, facts);
        if volume.entry_lots.is_zero() {
            return Ok(());
        }
        let rate = rule.earns.rate();
        let percent = rate / Decimal::ONE_HUNDRED;
        let (amount, currency) = match rule.earns {
            Earns::PerLot(_) => (rate * volume.counted_lots, plan.currency),
            Earns::CommissionShare(_) => (
                deal.commission.abs() * volume.earning_lots / deal.volume * percent,
                self.deal_currency()?,
            ),
            Earns::SpreadShare(_) => (
                (deal.market_ask - deal.market_bid).max(Decimal::ZERO)
                    * deal.contract_size
                    * volume.earning_lots
                    * deal.rate_profit
                    * percent,
                self.deal_currency()?,
            ),
        };
        let basis = self.basis(
            plan,
            Some(&rule.id),
            rule.earns.into(),
            rate,
            volume,
            amount,
            currency,
        );
        self.share(plan, basis, LegKind::Commission, true, legs)
    }

    /// Shares `basis.amount` along the chain by the plan's levels; commission legs are capped
    /// per deal and give level 0's rebate to the client.
    fn share(
        &self,
        plan: &CommissionPlan,
        basis: Arc<Basis>,
        kind: LegKind,
        commission: bool,
        legs: &mut Vec<Accrual>,
    ) -> Result<()> {
        let at = self.deal.time_msc;
        let cap = match plan.levels.cap_per_deal {
            Some(cap) if commission => {
                Some(self.convert(cap, plan.currency, basis.currency, at)?.0)
            }
            _ => None,
        };
        let mut given = Decimal::ZERO;
        for (link, fraction) in self.chain.iter().zip(&plan.level_fractions) {
            let mut amount = at_leg_scale(basis.amount * fraction);
            let mut capped = false;
            let mut note = None;
            if !link.ib.earns_at(at) {
                amount = Decimal::ZERO;
                note = Some(Note::Forfeited);
            } else if let Some(cap) = cap {
                let room = (cap - given).max(Decimal::ZERO);
                if amount > room {
                    amount = room;
                    capped = true;
                }
            }
            given += amount;
            if commission
                && link.level == 0
                && let Some(rebate) = &plan.rebate
            {
                let to_client = at_leg_scale(amount * rebate.percent / Decimal::ONE_HUNDRED);
                amount -= to_client;
                let currency = self.deal_currency()?;
                let rebate_leg = self.leg(
                    Beneficiary::Client(self.client.to_string()),
                    0,
                    LegKind::Rebate,
                    currency,
                    to_client,
                    &basis,
                    *fraction,
                    capped,
                    None,
                )?;
                legs.push(rebate_leg);
            }
            legs.push(self.leg(
                Beneficiary::Ib(link.ib.id.clone()),
                link.level,
                kind,
                ib_currency(link.ib)?,
                amount,
                &basis,
                *fraction,
                capped,
                note,
            )?);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn leg(
        &self,
        beneficiary: Beneficiary,
        level: u32,
        kind: LegKind,
        currency: Currency,
        amount_in_basis_currency: Decimal,
        basis: &Arc<Basis>,
        level_fraction: Decimal,
        capped: bool,
        note: Option<Note>,
    ) -> Result<Accrual> {
        let (amount, fx) = self.convert(
            amount_in_basis_currency,
            basis.currency,
            currency,
            self.deal.time_msc,
        )?;
        Ok(Accrual {
            server: self.engine.server.clone(),
            deal: self.deal.deal,
            revision: self.revision,
            generation: self.generation,
            reversal: false,
            beneficiary,
            level,
            kind,
            login: self.deal.login,
            client: self.client.clone(),
            time_msc: self.deal.time_msc,
            currency,
            amount,
            explanation: Explanation {
                basis: basis.clone(),
                level_fraction,
                amount_in_basis_currency,
                capped,
                fx,
                note,
            },
        })
    }

    fn convert(
        &self,
        amount: Decimal,
        from: Currency,
        to: Currency,
        at: Millis,
    ) -> Result<(Decimal, Option<FxRate>)> {
        if from == to {
            return Ok((amount, None));
        }
        let rate = self
            .engine
            .rates
            .rate(from.code, to.code, at)
            .ok_or_else(|| {
                Error::invalid(
                    "fx_rate_missing",
                    "rates",
                    format!("no {}/{} rate at {at} ms", from.code, to.code),
                )
            })?;
        Ok((at_leg_scale(amount * rate.rate), Some(rate)))
    }
}

fn ib_currency(ib: &IbNode) -> Result<Currency> {
    Currency::parse("ibs.currency", &ib.currency)
}

/// The lots of `deal` that earn under `plan`, and why the others do not.
fn counted_volume(plan: &CommissionPlan, deal: &PlatformDeal, facts: &EntryFacts) -> VolumeCounted {
    let (open, close) = match plan.earn_on {
        EarnOn::Open => (true, false),
        EarnOn::Close => (false, true),
        EarnOn::Both => (true, true),
    };
    let pick = |yes: bool, lots: Decimal| if yes { lots } else { Decimal::ZERO };
    let hedged = |lots: Decimal| pick(plan.exclude_hedged, lots);
    let opened = pick(open, facts.opened_lots);
    let closed = pick(close, facts.closed_lots);
    let mut volume = VolumeCounted {
        deal_lots: deal.volume,
        entry_lots: opened + closed,
        hedged_lots: hedged(pick(open, facts.hedged_open_lots))
            + hedged(pick(close, facts.hedged_close_lots)),
        held_ms: facts.held_ms,
        modifier: plan.volume_modifier(&deal.group),
        ..VolumeCounted::default()
    };
    let mut earning = volume.entry_lots - volume.hedged_lots;
    if deal.volume < plan.min_lots {
        volume.excluded = Some(Exclusion::BelowMinLots);
        earning = Decimal::ZERO;
    } else if closed > Decimal::ZERO && facts.held_ms.is_some_and(|held| held < plan.min_hold_ms) {
        volume.excluded = Some(Exclusion::HeldTooShort);
        earning -= closed - hedged(pick(close, facts.hedged_close_lots));
    }
    volume.earning_lots = earning;
    volume.counted_lots = earning * volume.modifier;
    volume
}
