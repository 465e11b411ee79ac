//! The scoring engine: each entrant's closed trades and cash flows, folded in time order into
//! a score that anyone can recompute from the same deals, and the explanation of that score.
//!
//! # How a score is made
//!
//! An entrant's events (closed trades by their close time, cash flows by theirs; at the same
//! millisecond a cash flow comes first, then ids decide) are folded in order:
//!
//! * Before the contest period, every event only moves the account's equity: what it holds
//!   when the contest starts is its starting equity.
//! * A cash flow (deposit, withdrawal, credit in or out) is **neutralized**: the return of the
//!   sub-period that ends at it is chained into a growth index and the next sub-period starts
//!   from the equity after it (the time-weighted return: equity is marked at each cash flow,
//!   so money in or out neither raises nor lowers the return).
//! * A trade **counts** unless a rule excludes it: opened before the contest started, held
//!   less than `min_hold_seconds`, larger than `max_lots_per_trade`, or beyond the first
//!   `max_counted_trades`. An excluded trade's result is real money and moves the equity, but
//!   it is neutralized like a cash flow: it neither earns nor costs a score.
//! * A trade closed at or after the end of the period is not part of the contest.
//! * After each counted trade the growth index is compared with its peak: the deepest fall
//!   from a peak, as a fraction of it, is the maximum drawdown.
//! * The index is a fixed-point figure and every ratio is rounded once ([`super::growth`]).
//!
//! Equity is marked from closed results (the balance and credit the deals make): what an open
//! position would make at a past instant is not in the deal history, so a contest ranks what
//! its entrants closed.
//!
//! # Incremental and full scoring
//!
//! Each entrant's fold state is kept with the position it reached. Events that arrive after
//! that position extend the fold; an event that arrives earlier (a late or corrected deal)
//! refolds that entrant from the start. Either way the result is the fold over the entrant's
//! events in order, so incremental scoring over any batching and arrival order equals a full
//! recompute ([`Scoring::recompute`]), which the end of a contest checks.

use std::collections::HashMap;

use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Millis;
use super::definition::{ContestDefinition, MetricKind, TieBreak};
use super::growth::{self, Growth};
use super::platform_keys::PlatformKeyMap;

/// Decimal places of a return, a drawdown and the return-over-drawdown ratio as scored: the
/// ranking compares these rounded values, so equal performances tie and tie-breaks decide.
pub const RATIO_DP: u32 = 8;

/// The longest symbol name a trade may carry.
pub const MAX_SYMBOL_CHARS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = TradeSide)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

/// A closed trade as the scoring reads it: the part of a position that one closing deal
/// closed, amounts in the account's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trade {
    /// The platform ticket of the closing deal.
    pub deal: u64,
    pub login: u64,
    pub symbol: String,
    /// The side of the position that was closed.
    pub side: Side,
    /// Lots closed.
    pub volume: Decimal,
    pub opened_msc: Millis,
    pub closed_msc: Millis,
    /// Profit plus commission plus swap.
    pub net: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CashFlowKind {
    Deposit,
    Withdrawal,
    CreditIn,
    CreditOut,
    /// What an account held (balance and credit) when it entered: its deals before that are
    /// not read, so this stands for them.
    OpeningBalance,
}

impl CashFlowKind {
    pub const ALL: [CashFlowKind; 5] = [
        CashFlowKind::Deposit,
        CashFlowKind::Withdrawal,
        CashFlowKind::CreditIn,
        CashFlowKind::CreditOut,
        CashFlowKind::OpeningBalance,
    ];

    /// Its name in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CashFlowKind::Deposit => "deposit",
            CashFlowKind::Withdrawal => "withdrawal",
            CashFlowKind::CreditIn => "credit_in",
            CashFlowKind::CreditOut => "credit_out",
            CashFlowKind::OpeningBalance => "opening_balance",
        }
    }

    /// Money in (positive amounts) or out (negative ones).
    pub fn is_inflow(self) -> bool {
        matches!(
            self,
            CashFlowKind::Deposit | CashFlowKind::CreditIn | CashFlowKind::OpeningBalance
        )
    }
}

/// A balance or credit operation on an entry account: positive amounts in, negative out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CashFlow {
    /// The platform ticket of the balance or credit deal.
    pub id: u64,
    pub login: u64,
    pub kind: CashFlowKind,
    pub amount: Decimal,
    pub at_msc: Millis,
}

/// An entrant as the scoring knows it: one entry account, and when they registered (the last
/// tie-break).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entrant {
    pub id: String,
    pub login: u64,
    pub registered_msc: Millis,
}

/// Why a trade does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    OpenedBeforeStart,
    HeldTooShort,
    OverMaxLots,
    BeyondTradeCap,
    ClosedAfterEnd,
}

/// Where an entrant stands by the rules (a manual disqualification is the ranking's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScoreStatus {
    Ranked,
    /// Fewer counted trades than `min_trades`.
    TooFewTrades,
    /// A drawdown deeper than `disqualify_drawdown`.
    DrawdownExceeded,
}

/// An entrant's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = EntrantScoreFigures)]
pub struct Score {
    pub status: ScoreStatus,
    /// The contest's metric: `return`, `profit`, `volume` or `return_over_drawdown`.
    pub metric: Decimal,
    /// The time-weighted return, a fraction (0.1 is 10 %).
    #[serde(rename = "return")]
    pub return_: Decimal,
    /// The counted trades' net result.
    pub profit: Decimal,
    /// The counted trades' lots.
    pub volume: Decimal,
    /// A fraction of the peak of the growth index.
    pub max_drawdown: Decimal,
    pub trades: u32,
    pub excluded_trades: u32,
    pub cash_flows: u32,
}

/// The rules of a definition the fold applies, in the fold's units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoringRules {
    pub from_msc: Millis,
    pub until_msc: Millis,
    pub metric: MetricKind,
    pub min_drawdown: Decimal,
    pub min_trades: u32,
    pub min_hold_ms: i64,
    pub max_counted_trades: Option<u32>,
    pub max_lots_per_trade: Option<Decimal>,
    pub disqualify_drawdown: Option<Decimal>,
    pub min_return_for_prize: Option<Decimal>,
    pub tie_breaks: Vec<TieBreak>,
}

impl ScoringRules {
    pub fn of(definition: &ContestDefinition) -> ScoringRules {
        let rules = &definition.rules;
        ScoringRules {
            from_msc: definition.period.from_msc(),
            until_msc: definition.period.until_msc(),
            metric: definition.metric.kind,
            min_drawdown: definition.metric.min_drawdown.unwrap_or(Decimal::ONE),
            min_trades: rules.min_trades,
            min_hold_ms: i64::from(rules.min_hold_seconds) * 1000,
            max_counted_trades: rules.max_counted_trades,
            max_lots_per_trade: rules.max_lots_per_trade,
            disqualify_drawdown: rules.disqualify_drawdown,
            min_return_for_prize: rules.min_return_for_prize,
            tie_breaks: definition.tie_breaks.clone(),
        }
    }
}

/// A trade or a cash flow, compact: ten million of them are held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    pub(crate) at: Millis,
    pub(crate) id: u64,
    pub(crate) body: Body,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    Flow {
        amount: Decimal,
        kind: CashFlowKind,
    },
    Trade {
        opened: Millis,
        volume: Decimal,
        net: Decimal,
        symbol: u32,
        side: Side,
    },
}

impl Event {
    /// The fold's order: time, then cash flows before trades, then ids.
    pub(crate) fn key(&self) -> (Millis, bool, u64) {
        (self.at, self.is_trade(), self.id)
    }

    pub(crate) fn is_trade(&self) -> bool {
        matches!(self.body, Body::Trade { .. })
    }
}

/// The fold's state after some of an entrant's events: what the next event continues from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fold {
    pub equity: Decimal,
    pub started: bool,
    pub starting_equity: Decimal,
    /// The equity the current sub-period started from.
    pub base: Decimal,
    /// The counted trades' result in the current sub-period.
    pub gain: Decimal,
    /// The growth index chained up to the current sub-period (1 at the start).
    pub index: Growth,
    pub peak: Growth,
    /// The lowest growth index since the peak. A counted trade that leaves the index at or
    /// above it cannot deepen the drawdown (a smaller fall of the same peak divides into a
    /// fraction no larger), so only one below it is divided.
    pub trough: Growth,
    /// A fraction of the peak.
    pub max_drawdown: Growth,
    /// `max_drawdown` rounded as scored, made when the drawdown deepens (rarely) rather than
    /// at every score; so are what the score compares it with: whether it passes the limit,
    /// and what a return over drawdown divides by (none: the rules' least).
    pub max_drawdown_scored: Decimal,
    pub drawdown_exceeded: bool,
    pub drawdown_divisor: Option<Decimal>,
    pub trades: u32,
    pub profit: Decimal,
    pub volume: Decimal,
    pub excluded_trades: u32,
    pub cash_flows: u32,
}

/// What the fold tells whoever listens: nothing in the hot path, everything for an
/// explanation. One fold serves both, so an explanation cannot disagree with its score.
pub(crate) trait Listener {
    fn counted(&mut self, _event: &Event, _fold: &Fold, _index_after: Growth) {}
    fn excluded(&mut self, _event: &Event, _reason: Exclusion) {}
    fn flow(&mut self, _event: &Event, _equity_before: Decimal, _fold: &Fold) {}
}

pub(crate) struct Silent;
impl Listener for Silent {}

/// Keeps the growth index after the last event when it was a counted trade's: the fold's
/// current index then, computed once rather than again for the score.
#[derive(Default)]
struct LastIndex(Option<Growth>);

impl Listener for LastIndex {
    fn counted(&mut self, _event: &Event, _fold: &Fold, index_after: Growth) {
        self.0 = Some(index_after);
    }
    fn excluded(&mut self, _event: &Event, _reason: Exclusion) {
        self.0 = None;
    }
    fn flow(&mut self, _event: &Event, _equity_before: Decimal, _fold: &Fold) {
        self.0 = None;
    }
}

impl Fold {
    /// The growth index now: the chained index times the current sub-period's growth. A
    /// sub-period that starts without equity has no return to measure; an index never falls
    /// below zero (the account cannot lose more than it has).
    pub fn current_index(&self) -> Growth {
        if self.base > Decimal::ZERO {
            self.index.grown(self.base + self.gain, self.base)
        } else {
            self.index
        }
    }

    /// Ends the current sub-period at the equity it reached (before a cash flow or an
    /// excluded trade moves it) and starts the next one from `equity`.
    fn mark(&mut self) {
        self.index = self.current_index();
        self.gain = Decimal::ZERO;
        self.base = self.equity;
    }

    fn start(&mut self) {
        self.started = true;
        self.starting_equity = self.equity;
        self.base = self.equity;
        self.index = Growth::ONE;
        self.peak = Growth::ONE;
        self.trough = Growth::ONE;
    }

    pub(crate) fn apply(&mut self, event: &Event, rules: &ScoringRules, out: &mut impl Listener) {
        if event.at >= rules.until_msc {
            if let Body::Trade { .. } = event.body {
                out.excluded(event, Exclusion::ClosedAfterEnd);
            }
            return;
        }
        if event.at < rules.from_msc {
            self.equity += match event.body {
                Body::Flow { amount, .. } => amount,
                Body::Trade { net, .. } => net,
            };
            return;
        }
        if !self.started {
            self.start();
        }
        match event.body {
            Body::Flow { amount, .. } => {
                let before = self.equity;
                self.equity += amount;
                self.mark();
                self.cash_flows += 1;
                out.flow(event, before, self);
            }
            Body::Trade {
                opened,
                volume,
                net,
                ..
            } => {
                if let Some(reason) = self.exclusion(event.at, opened, volume, rules) {
                    self.equity += net;
                    self.mark();
                    self.excluded_trades += 1;
                    out.excluded(event, reason);
                    return;
                }
                self.equity += net;
                self.gain += net;
                self.trades += 1;
                self.profit += net;
                self.volume += volume;
                let index = self.current_index();
                if index > self.peak {
                    self.peak = index;
                    self.trough = index;
                } else if index < self.trough {
                    self.trough = index;
                    let drawdown = index.fall_from(self.peak);
                    if drawdown > self.max_drawdown {
                        self.max_drawdown = drawdown;
                        let scored = drawdown.to_decimal(RATIO_DP);
                        self.max_drawdown_scored = scored;
                        self.drawdown_exceeded = rules
                            .disqualify_drawdown
                            .is_some_and(|limit| scored > limit);
                        self.drawdown_divisor = Some(scored.max(rules.min_drawdown));
                    }
                }
                out.counted(event, self, index);
            }
        }
    }

    fn exclusion(
        &self,
        closed: Millis,
        opened: Millis,
        volume: Decimal,
        rules: &ScoringRules,
    ) -> Option<Exclusion> {
        if opened < rules.from_msc {
            Some(Exclusion::OpenedBeforeStart)
        } else if closed - opened < rules.min_hold_ms {
            Some(Exclusion::HeldTooShort)
        } else if rules.max_lots_per_trade.is_some_and(|max| volume > max) {
            Some(Exclusion::OverMaxLots)
        } else if rules
            .max_counted_trades
            .is_some_and(|cap| self.trades >= cap)
        {
            Some(Exclusion::BeyondTradeCap)
        } else {
            None
        }
    }

    /// The score the fold stands at.
    pub fn score(&self, rules: &ScoringRules) -> Score {
        self.score_at(rules, None)
    }

    /// The score, given the current index when it is known (`current_index()` otherwise).
    fn score_at(&self, rules: &ScoringRules, current_index: Option<Growth>) -> Score {
        let return_units = if self.started {
            current_index
                .unwrap_or_else(|| self.current_index())
                .return_units(RATIO_DP)
        } else {
            0
        };
        let return_ = growth::decimal(return_units, RATIO_DP);
        let max_drawdown = self.max_drawdown_scored;
        let metric = match rules.metric {
            MetricKind::Return => return_,
            MetricKind::Profit => self.profit,
            MetricKind::Volume => self.volume,
            MetricKind::ReturnOverDrawdown => growth::ratio(
                return_units,
                RATIO_DP,
                self.drawdown_divisor.unwrap_or(rules.min_drawdown),
            ),
        };
        let status = if self.drawdown_exceeded {
            ScoreStatus::DrawdownExceeded
        } else if self.trades < rules.min_trades {
            ScoreStatus::TooFewTrades
        } else {
            ScoreStatus::Ranked
        };
        Score {
            status,
            metric: metric.normalize(),
            return_: return_.normalize(),
            profit: self.profit,
            volume: self.volume.normalize(),
            max_drawdown: max_drawdown.normalize(),
            trades: self.trades,
            excluded_trades: self.excluded_trades,
            cash_flows: self.cash_flows,
        }
    }
}

/// Symbol names, each stored once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Symbols {
    ids: PlatformKeyMap<String, u32>,
    names: Vec<String>,
}

impl Symbols {
    fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
}

/// The room kept after an entrant's `events` events for the deals still to come: a sixteenth
/// (about six more deals for a hundred), so memory stays within a few percent of the events.
fn room_after(events: usize) -> usize {
    events / 16 + 2
}

/// One entrant's events and how far they are folded.
#[derive(Debug, Clone)]
pub(crate) struct Book {
    pub(crate) entrant: Entrant,
    /// In fold order, no two with one key.
    pub(crate) events: Vec<Event>,
    /// Arrived, not yet merged into `events`.
    pending: Vec<Event>,
    /// Ids removed since the last update (a cancelled deal), with whether it was a trade.
    removed: Vec<(bool, u64)>,
    /// `events[..folded]` are in `fold`.
    folded: usize,
    /// The key of the last event: whether new events come after it is known without reading
    /// the events (a cache miss per entrant, the larger part of an incremental update).
    last: Option<(Millis, bool, u64)>,
    fold: Fold,
    score: Score,
}

impl Book {
    fn new(entrant: Entrant, rules: &ScoringRules) -> Book {
        let fold = Fold::default();
        let score = fold.score(rules);
        Book {
            entrant,
            events: Vec::new(),
            pending: Vec::new(),
            removed: Vec::new(),
            folded: 0,
            last: None,
            fold,
            score,
        }
    }

    /// Holds an event until the next update. Without a [`Scoring::reserve`], the arrivals
    /// grow by a quarter rather than double: a first load of millions of events, which become
    /// the books as they are, then holds at most a quarter more than its events.
    fn arrive(&mut self, event: Event) {
        if self.pending.len() == self.pending.capacity() {
            self.pending.reserve_exact((self.pending.len() / 4).max(4));
        }
        self.pending.push(event);
    }

    fn is_dirty(&self) -> bool {
        !self.pending.is_empty() || !self.removed.is_empty()
    }

    /// Merges `arrived` (what arrived since the last update, in the order it came; left empty)
    /// and folds: forward from where the fold stands when everything new comes after it, from
    /// the start otherwise. Returns whether it refolded.
    fn update(&mut self, arrived: &mut Vec<Event>, rules: &ScoringRules) -> bool {
        let mut refold = false;
        let mut fold_arrived = false;
        if !self.removed.is_empty() {
            let removed = std::mem::take(&mut self.removed);
            let before = self.events.len();
            self.events.retain(|e| {
                !removed
                    .iter()
                    .any(|(trade, id)| *id == e.id && *trade == e.is_trade())
            });
            refold |= self.events.len() != before;
        }
        if !arrived.is_empty() {
            arrived.sort_by_key(Event::key);
            // The last arrival of a key wins (a repeat of a deal is the same deal).
            arrived.dedup_by(|later, earlier| {
                if later.key() == earlier.key() {
                    *earlier = *later;
                    true
                } else {
                    false
                }
            });
            let after_fold = self.last.is_none_or(|last| last < arrived[0].key());
            if self.events.is_empty() {
                // The first arrivals become the events as they are, without a copy.
                self.events = std::mem::take(arrived);
                let room = room_after(self.events.len());
                if self.events.capacity() > self.events.len() + 2 * room {
                    self.events.shrink_to(self.events.len() + room);
                }
            } else if after_fold {
                self.make_room(arrived.len());
                self.events.extend_from_slice(arrived);
                // Folded from where they arrived, still in the cache.
                fold_arrived = !refold && self.folded + arrived.len() == self.events.len();
            } else {
                self.make_room(arrived.len());
                for event in arrived.iter() {
                    match self.events.binary_search_by_key(&event.key(), Event::key) {
                        Ok(at) => {
                            if self.events[at] != *event {
                                self.events[at] = *event;
                                refold = true;
                            }
                        }
                        Err(at) => {
                            self.events.insert(at, *event);
                            refold = true;
                        }
                    }
                }
            }
        }
        if refold {
            self.fold = Fold::default();
            self.folded = 0;
        }
        let new = if fold_arrived {
            &arrived[..]
        } else {
            &self.events[self.folded..]
        };
        let mut last_index = LastIndex::default();
        for event in new {
            self.fold.apply(event, rules, &mut last_index);
        }
        arrived.clear();
        self.folded = self.events.len();
        self.last = self.events.last().map(Event::key);
        self.score = self.fold.score_at(rules, last_index.0);
        refold
    }

    /// Room for `more` events, and a little beyond: the next updates' deals append without
    /// moving the entrant's events (growing by doubling would hold up to twice the events
    /// of a contest, and move every entrant's at once when a scoring pass finds them full).
    fn make_room(&mut self, more: usize) {
        let needed = self.events.len() + more;
        if needed > self.events.capacity() {
            self.events
                .reserve_exact(needed + room_after(needed) - self.events.len());
        }
    }

    /// This book with `later` merged and folded from its first event.
    fn refolded(&self, mut later: Vec<Event>, rules: &ScoringRules) -> Book {
        let mut fresh = self.clone();
        fresh.fold = Fold::default();
        fresh.folded = 0;
        let mut arrived = std::mem::take(&mut fresh.pending);
        arrived.append(&mut later);
        fresh.update(&mut arrived, rules);
        fresh
    }

    fn full_fold(&self, rules: &ScoringRules) -> Fold {
        let mut fold = Fold::default();
        for event in &self.events {
            fold.apply(event, rules, &mut Silent);
        }
        fold
    }
}

/// What one [`Scoring::update`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct UpdateReport {
    /// Entrants whose fold went forward from where it stood.
    pub extended: usize,
    /// Entrants refolded from their first event (a late, corrected or cancelled deal).
    pub refolded: usize,
}

/// The contest's entrants, their events and their scores.
#[derive(Debug, Clone)]
pub struct Scoring {
    rules: ScoringRules,
    pub(crate) symbols: Symbols,
    pub(crate) books: Vec<Book>,
    by_login: PlatformKeyMap<u64, usize>,
    /// Books with their own arrivals or removals since the last update.
    dirty: Vec<usize>,
    /// What arrived since the last update, after the first (see [`Scoring::arrive`]), with
    /// its book, in the order it came.
    arrivals: Vec<(u32, Event)>,
    /// Whether an update has run.
    updated: bool,
}

fn check_symbol(symbol: &str) -> Result<()> {
    if symbol.is_empty()
        || symbol.chars().count() > MAX_SYMBOL_CHARS
        || symbol.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "invalid_trade",
            "symbol",
            format!("a symbol is 1 to {MAX_SYMBOL_CHARS} characters without control characters"),
        ));
    }
    Ok(())
}

impl Trade {
    /// A trade the fold can read: a positive volume, closed no earlier than it opened.
    pub fn validate(&self) -> Result<()> {
        check_symbol(&self.symbol)?;
        if self.volume <= Decimal::ZERO {
            return Err(Error::invalid(
                "invalid_trade",
                "volume",
                format!("deal {}: the volume must be positive", self.deal),
            ));
        }
        if self.closed_msc < self.opened_msc {
            return Err(Error::invalid(
                "invalid_trade",
                "closed_at",
                format!("deal {}: closed before it opened", self.deal),
            ));
        }
        Ok(())
    }
}

impl CashFlow {
    /// A cash flow whose sign says its direction, and not zero.
    pub fn validate(&self) -> Result<()> {
        let right_sign = if self.kind.is_inflow() {
            self.amount > Decimal::ZERO
        } else {
            self.amount < Decimal::ZERO
        };
        if !right_sign {
            return Err(Error::invalid(
                "invalid_cash_flow",
                "amount",
                format!(
                    "cash flow {}: a {:?} is {} (money in is positive, money out negative)",
                    self.id,
                    self.kind,
                    if self.kind.is_inflow() {
                        "positive"
                    } else {
                        "negative"
                    }
                ),
            ));
        }
        Ok(())
    }
}

impl Scoring {
    pub fn new(definition: &ContestDefinition) -> Scoring {
        Scoring::with_rules(ScoringRules::of(definition))
    }

    pub fn with_rules(rules: ScoringRules) -> Scoring {
        Scoring {
            rules,
            symbols: Symbols::default(),
            books: Vec::new(),
            by_login: PlatformKeyMap::default(),
            dirty: Vec::new(),
            arrivals: Vec::new(),
            updated: false,
        }
    }

    pub fn rules(&self) -> &ScoringRules {
        &self.rules
    }

    /// Adds an entrant; a login enters once.
    ///
    /// Errors: `Conflict` `login_already_entered`.
    pub fn enter(&mut self, entrant: Entrant) -> Result<()> {
        if self.by_login.contains_key(&entrant.login) {
            return Err(Error::Conflict {
                code: "login_already_entered",
                message: format!("login {} is already entered", entrant.login),
            });
        }
        self.by_login.insert(entrant.login, self.books.len());
        self.books.push(Book::new(entrant, &self.rules));
        Ok(())
    }

    /// Reserves room for `events` more events of the entrant with `login` (and the room kept
    /// for later deals, see [`Book::make_room`]), so a large first load is not copied as it
    /// grows.
    pub fn reserve(&mut self, login: u64, events: usize) {
        if let Some(&book) = self.by_login.get(&login) {
            let pending = &mut self.books[book].pending;
            let total = pending.len() + events;
            pending.reserve_exact(total + room_after(total) - pending.len());
        }
    }

    /// The book of `login`, marked for the next update.
    fn book_mut(&mut self, login: u64) -> Option<&mut Book> {
        let book = *self.by_login.get(&login)?;
        if !self.books[book].is_dirty() {
            self.dirty.push(book);
        }
        Some(&mut self.books[book])
    }

    /// Holds an event of a book until the next update. Until the first update, the event goes to its book: a first load of millions
    /// becomes the books as it is, without a copy. After it, events are gathered here in the
    /// order they come, and the update merges them book by book in the order the books are
    /// held: a scoring pass with a deal for each of 100,000 entrants then reads each book
    /// once, in the order memory reads ahead, rather than once when the deal is added and
    /// again when it is folded, both times in the feed's order (each a wait for memory).
    fn arrive(&mut self, book: usize, event: Event) {
        if self.updated {
            self.arrivals.push((book as u32, event));
        } else {
            if !self.books[book].is_dirty() {
                self.dirty.push(book);
            }
            self.books[book].arrive(event);
        }
    }

    /// Adds a closed trade of an entrant's account (a repeat replaces the one with its deal
    /// and time); `false` when the login is no entrant's.
    pub fn add_trade(&mut self, trade: &Trade) -> Result<bool> {
        trade.validate()?;
        let Some(&book) = self.by_login.get(&trade.login) else {
            return Ok(false);
        };
        let symbol = self.symbols.id(&trade.symbol);
        let event = Event {
            at: trade.closed_msc,
            id: trade.deal,
            body: Body::Trade {
                opened: trade.opened_msc,
                volume: trade.volume,
                net: trade.net,
                symbol,
                side: trade.side,
            },
        };
        self.arrive(book, event);
        Ok(true)
    }

    /// Adds a cash flow of an entrant's account; `false` when the login is no entrant's.
    pub fn add_cash_flow(&mut self, flow: &CashFlow) -> Result<bool> {
        flow.validate()?;
        let event = Event {
            at: flow.at_msc,
            id: flow.id,
            body: Body::Flow {
                amount: flow.amount,
                kind: flow.kind,
            },
        };
        let Some(&book) = self.by_login.get(&flow.login) else {
            return Ok(false);
        };
        self.arrive(book, event);
        Ok(true)
    }

    /// Takes back a trade (`trade`) or cash flow the platform cancelled or moved in time.
    pub fn remove(&mut self, login: u64, trade: bool, id: u64) -> bool {
        let Some(&index) = self.by_login.get(&login) else {
            return false;
        };
        // What arrived before the removal in this batch goes with it; what arrives after it
        // stays (a deal moved in time is removed, then added again).
        let removed = |e: &Event| e.id == id && e.is_trade() == trade;
        self.arrivals
            .retain(|(book, e)| !(*book as usize == index && removed(e)));
        if let Some(book) = self.book_mut(login) {
            book.pending.retain(|e| !removed(e));
            book.removed.push((trade, id));
        }
        true
    }

    /// Folds what arrived since the last update.
    pub fn update(&mut self) -> UpdateReport {
        self.updated = true;
        let mut arrivals = std::mem::take(&mut self.arrivals);
        // Each touched book with where an arrival is (its place + 1; 0: what the book holds
        // itself), packed in one integer (the book in the high half) so that sorting them in
        // the order the books are held compares plain integers.
        let book_of = |packed: u64| (packed >> 32) as usize;
        let mut touched: Vec<u64> = (arrivals.iter().enumerate())
            .map(|(at, (book, _))| (u64::from(*book) << 32) | (at as u64 + 1))
            .chain(self.dirty.drain(..).map(|book| (book as u64) << 32))
            .collect();
        touched.sort_unstable();
        let mut report = UpdateReport::default();
        let mut gathered = Vec::new();
        for places in touched.chunk_by(|a, b| book_of(*a) == book_of(*b)) {
            let book = &mut self.books[book_of(places[0])];
            // What the book holds itself (a first load) is merged without a copy.
            let mut own = std::mem::take(&mut book.pending);
            let arrived = if own.is_empty() {
                &mut gathered
            } else {
                &mut own
            };
            arrived.extend(places.iter().filter_map(|packed| {
                let place = (packed & u64::from(u32::MAX)) as usize;
                place.checked_sub(1).map(|at| arrivals[at].1)
            }));
            if book.update(arrived, &self.rules) {
                report.refolded += 1;
            } else {
                report.extended += 1;
            }
        }
        // The next pass's arrivals go where these were, without growing a vector again.
        arrivals.clear();
        self.arrivals = arrivals;
        report
    }

    /// The entrants with their scores as of the last update, in the order they entered.
    pub fn scores(&self) -> impl Iterator<Item = (&Entrant, &Score)> {
        self.books.iter().map(|b| (&b.entrant, &b.score))
    }

    pub fn score_of(&self, login: u64) -> Option<&Score> {
        self.by_login.get(&login).map(|&b| &self.books[b].score)
    }

    /// Every entrant's fold state as of the last update (what a live scorer stores to resume).
    pub fn fold_of(&self, login: u64) -> Option<&Fold> {
        self.by_login.get(&login).map(|&b| &self.books[b].fold)
    }

    /// Every entrant's score recomputed from all their events, ignoring every fold state kept
    /// (what arrived but was not yet updated included).
    pub fn recompute(&self) -> Vec<Score> {
        let mut arrived: HashMap<usize, Vec<Event>> = HashMap::new();
        for (book, event) in &self.arrivals {
            arrived.entry(*book as usize).or_default().push(*event);
        }
        self.books
            .iter()
            .enumerate()
            .map(|(i, book)| match arrived.remove(&i) {
                None if !book.is_dirty() => book.full_fold(&self.rules).score(&self.rules),
                later => book.refolded(later.unwrap_or_default(), &self.rules).score,
            })
            .collect()
    }

    /// The entrants whose kept score differs from a full recompute (empty when incremental
    /// scoring held), with both scores.
    pub fn differences(&self) -> Vec<(String, Score, Score)> {
        self.books
            .iter()
            .zip(self.recompute())
            .filter(|(book, full)| book.score != *full)
            .map(|(book, full)| (book.entrant.id.clone(), book.score.clone(), full))
            .collect()
    }

    /// How many events are held.
    pub fn events(&self) -> usize {
        let held: usize = self
            .books
            .iter()
            .map(|b| b.events.len() + b.pending.len())
            .sum();
        held + self.arrivals.len()
    }

    pub fn entrants(&self) -> usize {
        self.books.len()
    }

    pub(crate) fn symbols_len(&self) -> usize {
        self.symbols.names.len()
    }

    /// The explanation of an entrant's score, from the same fold.
    pub fn explain(&self, login: u64) -> Option<Explanation> {
        let index = *self.by_login.get(&login)?;
        let book = &self.books[index];
        let later: Vec<Event> = (self.arrivals.iter())
            .filter(|(b, _)| *b as usize == index)
            .map(|(_, event)| *event)
            .collect();
        let fresh;
        let book = if book.is_dirty() || !later.is_empty() {
            fresh = book.refolded(later, &self.rules);
            &fresh
        } else {
            book
        };
        let mut recorder = Recorder {
            symbols: &self.symbols,
            explanation: Explanation::default(),
        };
        let mut fold = Fold::default();
        for event in &book.events {
            fold.apply(event, &self.rules, &mut recorder);
        }
        let mut explanation = recorder.explanation;
        explanation.entrant = book.entrant.id.clone();
        explanation.login = book.entrant.login;
        explanation.starting_equity = fold.starting_equity;
        explanation.final_equity = fold.equity;
        explanation.score = Some(fold.score(&self.rules));
        Some(explanation)
    }
}

pub(crate) fn at(msc: Millis) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(msc) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A counted trade in an explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CountedTrade {
    pub deal: u64,
    pub symbol: String,
    pub side: Side,
    pub volume: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub closed_at: OffsetDateTime,
    pub net: Decimal,
    /// The growth index after the trade (1 at the start).
    pub index_after: Decimal,
}

/// A trade that does not count, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExcludedTrade {
    pub deal: u64,
    pub symbol: String,
    pub volume: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub opened_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub closed_at: OffsetDateTime,
    pub net: Decimal,
    pub reason: Exclusion,
}

/// A cash flow the return does not see: the equity before and after it, and the index it
/// left unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NeutralizedFlow {
    pub id: u64,
    pub kind: CashFlowKind,
    pub amount: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub equity_before: Decimal,
    pub equity_after: Decimal,
    pub index: Decimal,
}

/// The equity and the growth index after a counted trade or a cash flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EquityMark {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub equity: Decimal,
    pub index: Decimal,
}

/// Why an entrant's score is what it is: every event of the contest period and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ScoreExplanation)]
pub struct Explanation {
    pub entrant: String,
    pub login: u64,
    #[schema(required)]
    pub score: Option<Score>,
    pub starting_equity: Decimal,
    pub final_equity: Decimal,
    pub counted: Vec<CountedTrade>,
    pub excluded: Vec<ExcludedTrade>,
    pub cash_flows: Vec<NeutralizedFlow>,
    pub equity_path: Vec<EquityMark>,
}

struct Recorder<'a> {
    symbols: &'a Symbols,
    explanation: Explanation,
}

fn shown(index: Growth) -> Decimal {
    index.to_decimal(RATIO_DP).normalize()
}

impl Listener for Recorder<'_> {
    fn counted(&mut self, event: &Event, fold: &Fold, index_after: Growth) {
        let Body::Trade {
            opened,
            volume,
            net,
            symbol,
            side,
        } = event.body
        else {
            return;
        };
        self.explanation.counted.push(CountedTrade {
            deal: event.id,
            symbol: self.symbols.name(symbol).to_string(),
            side,
            volume,
            opened_at: at(opened),
            closed_at: at(event.at),
            net,
            index_after: shown(index_after),
        });
        self.explanation.equity_path.push(EquityMark {
            at: at(event.at),
            equity: fold.equity,
            index: shown(index_after),
        });
    }

    fn excluded(&mut self, event: &Event, reason: Exclusion) {
        let Body::Trade {
            opened,
            volume,
            net,
            symbol,
            ..
        } = event.body
        else {
            return;
        };
        self.explanation.excluded.push(ExcludedTrade {
            deal: event.id,
            symbol: self.symbols.name(symbol).to_string(),
            volume,
            opened_at: at(opened),
            closed_at: at(event.at),
            net,
            reason,
        });
    }

    fn flow(&mut self, event: &Event, equity_before: Decimal, fold: &Fold) {
        let Body::Flow { amount, kind } = event.body else {
            return;
        };
        self.explanation.cash_flows.push(NeutralizedFlow {
            id: event.id,
            kind,
            amount,
            at: at(event.at),
            equity_before,
            equity_after: fold.equity,
            index: shown(fold.index),
        });
        self.explanation.equity_path.push(EquityMark {
            at: at(event.at),
            equity: fold.equity,
            index: shown(fold.index),
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::definition::ContestDefinition;
    use serde_json::json;

    pub(crate) const START: Millis = 1_781_481_600_000; // 2026-06-15T00:00:00Z
    pub(crate) const MINUTE: Millis = 60_000;

    pub(crate) fn definition(
        metric: serde_json::Value,
        rules: serde_json::Value,
    ) -> ContestDefinition {
        ContestDefinition::from_value(&json!({
            "id": "cup", "version": 1, "name": "Cup", "mode": "live", "currency": "USD",
            "registration": { "from": "2026-06-01T00:00:00Z", "until": "2026-06-30T00:00:00Z" },
            "period": { "from": "2026-06-15T00:00:00Z", "until": "2026-07-15T00:00:00Z" },
            "metric": metric, "rules": rules,
            "prizes": { "payment": { "kind": "cash" },
                        "tiers": [ { "from_rank": 1, "to_rank": 3, "amount": "100.00" } ] }
        }))
        .unwrap()
    }

    pub(crate) fn trade(deal: u64, login: u64, opened: Millis, closed: Millis, net: i64) -> Trade {
        Trade {
            deal,
            login,
            symbol: "EURUSD".into(),
            side: Side::Buy,
            volume: Decimal::ONE,
            opened_msc: opened,
            closed_msc: closed,
            net: Decimal::from(net),
        }
    }

    pub(crate) fn flow(id: u64, login: u64, at: Millis, amount: i64) -> CashFlow {
        CashFlow {
            id,
            login,
            kind: if amount > 0 {
                CashFlowKind::Deposit
            } else {
                CashFlowKind::Withdrawal
            },
            amount: Decimal::from(amount),
            at_msc: at,
        }
    }

    fn entrant(login: u64) -> Entrant {
        Entrant {
            id: format!("e{login}"),
            login,
            registered_msc: START - 1000,
        }
    }

    fn scoring(metric: serde_json::Value, rules: serde_json::Value) -> Scoring {
        let mut s = Scoring::new(&definition(metric, rules));
        s.enter(entrant(1)).unwrap();
        s
    }

    #[test]
    fn a_deposit_neither_raises_nor_lowers_the_return() {
        let mut s = scoring(json!({"kind": "return"}), json!({}));
        s.add_cash_flow(&flow(1, 1, START - MINUTE, 1000)).unwrap();
        s.add_trade(&trade(2, 1, START, START + 10 * MINUTE, 100))
            .unwrap();
        s.update();
        assert_eq!(s.score_of(1).unwrap().return_, Decimal::new(1, 1));
        // 9000 more: the equity is 10 100, the return still 10 %
        s.add_cash_flow(&flow(3, 1, START + 11 * MINUTE, 9000))
            .unwrap();
        s.update();
        assert_eq!(s.score_of(1).unwrap().return_, Decimal::new(1, 1));
        // a 1 % gain on the new equity chains: 1.1 × 1.01 − 1
        s.add_trade(&trade(4, 1, START + 12 * MINUTE, START + 20 * MINUTE, 101))
            .unwrap();
        s.update();
        let score = s.score_of(1).unwrap();
        assert_eq!(score.return_, Decimal::new(111, 3));
        assert_eq!(score.profit, Decimal::from(201));
        assert_eq!(
            score.cash_flows, 1,
            "the deposit before the start is starting equity"
        );
        let explanation = s.explain(1).unwrap();
        assert_eq!(explanation.starting_equity, Decimal::from(1000));
        assert_eq!(explanation.cash_flows[0].equity_before, Decimal::from(1100));
        assert_eq!(explanation.cash_flows[0].equity_after, Decimal::from(10100));
        assert_eq!(explanation.cash_flows[0].index, Decimal::new(11, 1));
    }

    #[test]
    fn excluded_trades_move_equity_but_not_the_score() {
        let mut s = scoring(
            json!({"kind": "return"}),
            json!({"min_hold_seconds": 60, "max_lots_per_trade": "2", "max_counted_trades": 1}),
        );
        s.add_cash_flow(&flow(1, 1, START - MINUTE, 1000)).unwrap();
        // a 30 s scalp that made 500
        s.add_trade(&trade(2, 1, START, START + 30_000, 500))
            .unwrap();
        s.add_trade(&trade(3, 1, START - MINUTE, START + MINUTE, 50))
            .unwrap();
        let mut big = trade(4, 1, START, START + 2 * MINUTE, 700);
        big.volume = Decimal::from(3);
        s.add_trade(&big).unwrap();
        s.add_trade(&trade(5, 1, START, START + 3 * MINUTE, 225))
            .unwrap();
        s.add_trade(&trade(6, 1, START, START + 4 * MINUTE, 100))
            .unwrap();
        s.add_trade(&trade(7, 1, START, START + 40 * 86_400_000, 100))
            .unwrap();
        s.update();
        let score = s.score_of(1).unwrap();
        // 1000 + 500 + 50 + 700 = 2250 before the one counted trade: 225 is 10 %
        assert_eq!(score.return_, Decimal::new(1, 1));
        assert_eq!((score.trades, score.excluded_trades), (1, 4));
        let reasons: Vec<Exclusion> = s
            .explain(1)
            .unwrap()
            .excluded
            .iter()
            .map(|e| e.reason)
            .collect();
        assert_eq!(
            reasons,
            [
                Exclusion::HeldTooShort,
                Exclusion::OpenedBeforeStart,
                Exclusion::OverMaxLots,
                Exclusion::BeyondTradeCap,
                Exclusion::ClosedAfterEnd
            ]
        );
    }

    #[test]
    fn drawdown_is_measured_on_the_index_and_disqualifies() {
        let mut s = scoring(
            json!({"kind": "return_over_drawdown", "min_drawdown": "0.05"}),
            json!({"disqualify_drawdown": "0.3"}),
        );
        s.add_cash_flow(&flow(1, 1, START, 1000)).unwrap();
        s.add_trade(&trade(2, 1, START, START + MINUTE, 200))
            .unwrap(); // 1.2
        s.add_trade(&trade(3, 1, START, START + 2 * MINUTE, -300))
            .unwrap(); // 0.9
        s.add_trade(&trade(4, 1, START, START + 3 * MINUTE, 300))
            .unwrap(); // 1.2
        s.update();
        let score = s.score_of(1).unwrap().clone();
        assert_eq!(score.max_drawdown, Decimal::new(25, 2));
        assert_eq!(score.return_, Decimal::new(2, 1));
        assert_eq!(score.metric, Decimal::new(8, 1));
        assert_eq!(score.status, ScoreStatus::Ranked);
        s.add_trade(&trade(5, 1, START, START + 4 * MINUTE, -500))
            .unwrap(); // 0.7
        s.update();
        let score = s.score_of(1).unwrap();
        assert_eq!(score.status, ScoreStatus::DrawdownExceeded);
    }

    #[test]
    fn a_late_deal_refolds_and_equals_a_full_recompute() {
        let mut s = scoring(json!({"kind": "return"}), json!({"max_counted_trades": 2}));
        s.add_cash_flow(&flow(1, 1, START, 1000)).unwrap();
        s.add_trade(&trade(3, 1, START, START + 2 * MINUTE, 100))
            .unwrap();
        s.add_trade(&trade(4, 1, START, START + 3 * MINUTE, 100))
            .unwrap();
        assert_eq!(
            s.update(),
            UpdateReport {
                extended: 1,
                refolded: 0
            }
        );
        s.add_trade(&trade(2, 1, START, START + MINUTE, -100))
            .unwrap();
        assert_eq!(
            s.update(),
            UpdateReport {
                extended: 0,
                refolded: 1
            }
        );
        assert!(s.differences().is_empty());
        let score = s.score_of(1).unwrap();
        assert_eq!(score.trades, 2, "the late deal is one of the first two");
        assert!(s.remove(1, true, 2));
        s.update();
        assert_eq!(s.score_of(1).unwrap().trades, 2);
        assert_eq!(s.score_of(1).unwrap().profit, Decimal::from(200));
        assert!(s.differences().is_empty());
    }

    #[test]
    fn what_arrives_after_an_update_counts_in_a_recompute_and_an_explanation_before_the_next() {
        let mut s = scoring(json!({"kind": "return"}), json!({}));
        s.add_cash_flow(&flow(1, 1, START - MINUTE, 1000)).unwrap();
        s.add_trade(&trade(3, 1, START, START + 3 * MINUTE, 100))
            .unwrap();
        s.update();
        s.add_trade(&trade(4, 1, START, START + 4 * MINUTE, 55))
            .unwrap();
        s.add_trade(&trade(2, 1, START, START + MINUTE, -100))
            .unwrap();
        s.add_trade(&trade(5, 1, START, START + 5 * MINUTE, 70))
            .unwrap();
        // taken back: what arrived before the removal goes with it
        assert!(s.remove(1, true, 5));
        assert_eq!(s.events(), 4);
        let recomputed = s.recompute();
        let explained = s.explain(1).unwrap().score;
        assert_eq!(s.score_of(1).unwrap().profit, Decimal::from(100));
        assert_eq!(
            s.update(),
            UpdateReport {
                extended: 0,
                refolded: 1
            }
        );
        let score = s.score_of(1).unwrap();
        assert_eq!(score.profit, Decimal::from(55));
        assert_eq!(score.trades, 3);
        assert_eq!(recomputed, std::slice::from_ref(score));
        assert_eq!(explained.as_ref(), Some(score));
        assert!(s.differences().is_empty());
    }

    /// The growth index after each counted trade, unrounded.
    struct Indexes(Vec<Growth>);

    impl Listener for Indexes {
        fn counted(&mut self, _event: &Event, _fold: &Fold, index_after: Growth) {
            self.0.push(index_after);
        }
    }

    proptest::proptest! {
        #[test]
        fn the_drawdown_is_the_deepest_fall_from_a_peak_divided_at_every_trade(
            // results in cents; every fifth also brings a deposit, which chains the index into
            // long fractions
            moves in proptest::collection::vec((-40_000i64..40_000, 0i64..5, 1i64..100_000), 1..80),
        ) {
            let rules = ScoringRules::of(&definition(json!({"kind": "return"}), json!({})));
            let mut fold = Fold::default();
            let mut indexes = Indexes(Vec::new());
            let deposit = |at: Millis, cents: i64| Event {
                at,
                id: at as u64,
                body: Body::Flow { amount: Decimal::new(cents, 2), kind: CashFlowKind::Deposit },
            };
            fold.apply(&deposit(START - MINUTE, 100_000), &rules, &mut indexes);
            for (i, (net, flow, cents)) in moves.iter().enumerate() {
                let at = START + i as i64 * MINUTE;
                if *flow == 0 {
                    fold.apply(&deposit(at, *cents), &rules, &mut indexes);
                }
                let trade = Event {
                    at: at + 1,
                    id: i as u64,
                    body: Body::Trade {
                        opened: START,
                        volume: Decimal::ONE,
                        net: Decimal::new(*net, 2),
                        symbol: 0,
                        side: Side::Buy,
                    },
                };
                fold.apply(&trade, &rules, &mut indexes);
            }
            let (mut peak, mut deepest) = (Growth::ONE, Growth::ZERO);
            for index in indexes.0 {
                if index > peak {
                    peak = index;
                } else if index < peak {
                    deepest = deepest.max(index.fall_from(peak));
                }
            }
            proptest::prop_assert_eq!(fold.max_drawdown, deepest);
            proptest::prop_assert_eq!(fold.max_drawdown_scored, deepest.to_decimal(RATIO_DP));
        }
    }

    #[test]
    fn bad_events_are_refused() {
        let mut s = scoring(json!({"kind": "profit"}), json!({}));
        assert!(s.add_cash_flow(&flow(1, 1, START, 0)).is_err());
        let mut w = flow(1, 1, START, 10);
        w.kind = CashFlowKind::Withdrawal;
        assert!(s.add_cash_flow(&w).is_err());
        assert!(s.add_trade(&trade(2, 1, START + 5, START, 1)).is_err());
        assert_eq!(s.add_trade(&trade(2, 99, START, START, 1)), Ok(false));
        assert_eq!(s.events(), 0);
    }
}
