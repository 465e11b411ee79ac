//! The open positions of one trading account, as its deals replay them in time order: what a
//! reader of the deal history needs to know of a deal beyond the deal itself — which position
//! it closes, how long that was held, what its opening cost, and how much of its volume was
//! hedged by an open opposite position (IB commissions, contests).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{DealAction, DealEntry, PlatformDeal};

type Millis = i64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Position {
    symbol: String,
    buy: bool,
    opened_msc: Millis,
    volume: Decimal,
    /// The part of `volume` opened against an opposite position.
    hedged: Decimal,
    /// What the opening deals charged (commission), not yet attributed to a close.
    #[serde(default)]
    open_commission: Decimal,
}

/// What a deal did to its account's positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryFacts {
    /// Lots the deal opened (in, the new side of an inout).
    pub opened_lots: Decimal,
    /// Lots the deal closed (out, out_by, the closed side of an inout).
    pub closed_lots: Decimal,
    /// How long the closed position was open; `None` when it was opened before the history
    /// the engine saw.
    pub held_ms: Option<i64>,
    /// Of `opened_lots`, those opened against an open opposite position.
    pub hedged_open_lots: Decimal,
    /// Of `closed_lots`, those still hedged by an open opposite position when closed.
    pub hedged_close_lots: Decimal,
    /// Whether the closed position was a buy (a sell otherwise).
    pub closed_buy: bool,
    /// The closed lots' share of the commission their opening deals charged (zero when the
    /// position was opened before the history seen).
    pub closed_open_commission: Decimal,
}

/// One account's open positions (serializable: the live path keeps them between batches).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPositions {
    open: BTreeMap<u64, Position>,
}

impl AccountPositions {
    /// Applies a trade deal and says what it did; balance and credit operations do nothing.
    pub fn apply(&mut self, deal: &PlatformDeal) -> EntryFacts {
        let buy = match deal.action {
            DealAction::Buy => true,
            DealAction::Sell => false,
            DealAction::Balance | DealAction::Credit => return EntryFacts::default(),
        };
        let mut facts = EntryFacts::default();
        let to_open = match deal.entry {
            DealEntry::In => deal.volume,
            DealEntry::Out | DealEntry::OutBy => {
                self.close(deal, &mut facts, deal.volume);
                Decimal::ZERO
            }
            DealEntry::InOut => {
                let held = self
                    .open
                    .get(&deal.position_id)
                    .map_or(Decimal::ZERO, |p| p.volume);
                let closed = self.close(deal, &mut facts, held.min(deal.volume));
                deal.volume - closed
            }
        };
        if to_open > Decimal::ZERO {
            let hedged = to_open.min(self.opposite_volume(&deal.symbol, buy, deal.position_id));
            facts.opened_lots = to_open;
            facts.hedged_open_lots = hedged;
            let position = self
                .open
                .entry(deal.position_id)
                .or_insert_with(|| Position {
                    symbol: deal.symbol.clone(),
                    buy,
                    opened_msc: deal.time_msc,
                    volume: Decimal::ZERO,
                    hedged: Decimal::ZERO,
                    open_commission: Decimal::ZERO,
                });
            position.volume += to_open;
            position.hedged += hedged;
            // An inout's commission is the closed part's cost, counted with its close.
            if deal.entry == DealEntry::In {
                position.open_commission += deal.commission;
            }
        }
        facts
    }

    /// Closes up to `lots` of the deal's position; returns the lots closed.
    fn close(&mut self, deal: &PlatformDeal, facts: &mut EntryFacts, lots: Decimal) -> Decimal {
        // The closing deal's action is opposite to the position's side.
        facts.closed_buy = deal.action == DealAction::Sell;
        let Some(position) = self.open.get(&deal.position_id) else {
            // Opened before the history we saw: closed in full, held for an unknown time.
            facts.closed_lots = lots;
            return lots;
        };
        let (symbol, buy, hedged) = (position.symbol.clone(), position.buy, position.hedged);
        let closed = lots.min(position.volume);
        let still_opposite = self.opposite_volume(&symbol, buy, deal.position_id);
        facts.closed_lots = closed;
        facts.held_ms = Some(deal.time_msc - position.opened_msc);
        facts.hedged_close_lots = closed.min(hedged).min(still_opposite);
        let position = self.open.get_mut(&deal.position_id).expect("read above");
        let share = if closed >= position.volume {
            position.open_commission
        } else {
            position.open_commission * closed / position.volume
        };
        facts.closed_open_commission = share;
        position.open_commission -= share;
        position.volume -= closed;
        position.hedged = position.hedged.min(position.volume);
        if position.volume <= Decimal::ZERO {
            self.open.remove(&deal.position_id);
        }
        closed
    }

    fn opposite_volume(&self, symbol: &str, buy: bool, except: u64) -> Decimal {
        self.open
            .iter()
            .filter(|(id, p)| **id != except && p.buy != buy && p.symbol == symbol)
            .map(|(_, p)| p.volume)
            .sum()
    }

    pub fn open_positions(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deal(
        position: u64,
        action: DealAction,
        entry: DealEntry,
        lots: i64,
        at: Millis,
    ) -> PlatformDeal {
        PlatformDeal {
            deal: at as u64,
            login: 1,
            order: 0,
            position_id: position,
            symbol: "EURUSD".into(),
            action,
            entry,
            volume: Decimal::new(lots, 1),
            price: Decimal::ONE,
            profit: Decimal::ZERO,
            commission: Decimal::ZERO,
            swap: Decimal::ZERO,
            currency: "USD".into(),
            group: "g".into(),
            contract_size: Decimal::ONE,
            digits: 5,
            market_bid: Decimal::ONE,
            market_ask: Decimal::ONE,
            rate_profit: Decimal::ONE,
            time_msc: at,
        }
    }

    #[test]
    fn partial_closes_and_a_reversal_keep_each_part_s_times() {
        let mut account = AccountPositions::default();
        let opened = account.apply(&deal(7, DealAction::Buy, DealEntry::In, 20, 1_000));
        assert_eq!(opened.opened_lots, Decimal::new(20, 1));
        let part = account.apply(&deal(7, DealAction::Sell, DealEntry::Out, 5, 4_000));
        assert_eq!(
            (part.closed_lots, part.held_ms),
            (Decimal::new(5, 1), Some(3_000))
        );
        // 1.5 lots held: the reversal closes them and opens 1.0 sold from now
        let reversal = account.apply(&deal(7, DealAction::Sell, DealEntry::InOut, 25, 9_000));
        assert_eq!(reversal.closed_lots, Decimal::new(15, 1));
        assert_eq!(reversal.held_ms, Some(8_000));
        assert_eq!(reversal.opened_lots, Decimal::new(10, 1));
        let closed = account.apply(&deal(7, DealAction::Buy, DealEntry::Out, 10, 10_000));
        assert_eq!(closed.held_ms, Some(1_000));
        assert_eq!(account.open_positions(), 0);
    }

    #[test]
    fn a_close_by_an_opposite_position_closes_both_and_ends_the_hedge() {
        let mut account = AccountPositions::default();
        account.apply(&deal(1, DealAction::Buy, DealEntry::In, 10, 0));
        let hedge = account.apply(&deal(2, DealAction::Sell, DealEntry::In, 10, 100));
        assert_eq!(hedge.hedged_open_lots, Decimal::new(10, 1));
        let first = account.apply(&deal(1, DealAction::Sell, DealEntry::OutBy, 10, 200));
        assert_eq!(first.hedged_close_lots, Decimal::ZERO, "opened unhedged");
        let second = account.apply(&deal(2, DealAction::Buy, DealEntry::OutBy, 10, 200));
        assert_eq!(
            second.hedged_close_lots,
            Decimal::ZERO,
            "its opposite is closed already"
        );
        assert_eq!(account.open_positions(), 0);
        let unknown = account.apply(&deal(9, DealAction::Sell, DealEntry::Out, 10, 300));
        assert_eq!(
            (unknown.closed_lots, unknown.held_ms),
            (Decimal::new(10, 1), None)
        );
    }

    #[test]
    fn a_close_carries_its_share_of_the_opening_commission_and_the_side_it_closed() {
        let mut account = AccountPositions::default();
        let mut open = deal(3, DealAction::Sell, DealEntry::In, 20, 0);
        open.commission = Decimal::new(-700, 2);
        account.apply(&open);
        let part = account.apply(&deal(3, DealAction::Buy, DealEntry::Out, 5, 1_000));
        assert_eq!(part.closed_open_commission, Decimal::new(-175, 2));
        assert!(!part.closed_buy, "a buy closes a sold position");
        let rest = account.apply(&deal(3, DealAction::Buy, DealEntry::Out, 15, 2_000));
        assert_eq!(rest.closed_open_commission, Decimal::new(-525, 2));
        assert_eq!(account.open_positions(), 0);
    }
}
