//! An entry account's deal history, as the trading platform books it (MT5's deals: entries in
//! and out of positions, balance and credit operations), read as what the scoring folds:
//! closed trades and cash flows.
//!
//! A trade is the part of a position one closing deal closed (an out, an out-by, the closing
//! part of a reversal): its side is the position's, its open time the position's first deal,
//! and its net result the closing deal's profit, commission and swap plus its share of the
//! commission the opening deals charged. A position opened before the history seen counts as
//! opened before the contest. Balance operations are deposits and withdrawals, credit
//! operations credit in and out.

use brokeros_trading::positions::AccountPositions;
use brokeros_trading::{DealAction, PlatformDeal};
use rust_decimal::Decimal;

use super::scoring::{CashFlow, CashFlowKind, Entrant, Scoring, ScoringRules, Side, Trade};

/// What an account's deals make for the scoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountHistory {
    pub trades: Vec<Trade>,
    pub cash_flows: Vec<CashFlow>,
    /// Deals the platform booked malformed ([`PlatformDeal::validate`]): never counted.
    pub rejected: Vec<u64>,
}

/// Reads `deals` (each deal's latest revision, cancelled ones left out, any order).
pub fn account_history(deals: &[PlatformDeal]) -> AccountHistory {
    let mut ordered: Vec<&PlatformDeal> = deals.iter().collect();
    ordered.sort_by_key(|d| (d.time_msc, d.deal));
    let mut positions = AccountPositions::default();
    let mut history = AccountHistory::default();
    for deal in ordered {
        if deal.validate().is_err() {
            history.rejected.push(deal.deal);
            continue;
        }
        match deal.action {
            DealAction::Balance | DealAction::Credit => {
                if deal.profit.is_zero() {
                    continue;
                }
                let kind = match (deal.action, deal.profit > Decimal::ZERO) {
                    (DealAction::Balance, true) => CashFlowKind::Deposit,
                    (DealAction::Balance, false) => CashFlowKind::Withdrawal,
                    (_, true) => CashFlowKind::CreditIn,
                    (_, false) => CashFlowKind::CreditOut,
                };
                history.cash_flows.push(CashFlow {
                    id: deal.deal,
                    login: deal.login,
                    kind,
                    amount: deal.profit,
                    at_msc: deal.time_msc,
                });
            }
            DealAction::Buy | DealAction::Sell => {
                let facts = positions.apply(deal);
                if facts.closed_lots <= Decimal::ZERO {
                    continue;
                }
                history.trades.push(Trade {
                    deal: deal.deal,
                    login: deal.login,
                    symbol: deal.symbol.clone(),
                    side: if facts.closed_buy {
                        Side::Buy
                    } else {
                        Side::Sell
                    },
                    volume: facts.closed_lots,
                    // Unknown open time: before the history, so before any contest it is in.
                    opened_msc: facts.held_ms.map_or(0, |held| deal.time_msc - held),
                    closed_msc: deal.time_msc,
                    net: deal.profit + deal.commission + deal.swap + facts.closed_open_commission,
                });
            }
        }
    }
    history
}

/// Enters an entry account into `scoring` as the live contest reads it: what it held when it
/// entered (an opening balance at its registration time) and its deals booked after that
/// (earlier ones, and those of the very millisecond it entered, are in the opening balance, so
/// they are left out). Answers what the deals made; the
/// caller updates the scoring.
pub fn enter_account(
    scoring: &mut Scoring,
    entrant: &Entrant,
    opening_balance: Decimal,
    deals: &[PlatformDeal],
) -> brokeros_kernel::Result<AccountHistory> {
    let since: Vec<PlatformDeal> = deals
        .iter()
        .filter(|d| d.login == entrant.login && d.time_msc > entrant.registered_msc)
        .cloned()
        .collect();
    let history = account_history(&since);
    scoring.enter(entrant.clone())?;
    if opening_balance > Decimal::ZERO {
        scoring.add_cash_flow(&CashFlow {
            id: 0,
            login: entrant.login,
            kind: CashFlowKind::OpeningBalance,
            amount: opening_balance,
            at_msc: entrant.registered_msc,
        })?;
    }
    for trade in &history.trades {
        scoring.add_trade(trade)?;
    }
    for flow in &history.cash_flows {
        scoring.add_cash_flow(flow)?;
    }
    Ok(history)
}

/// One entry account scored alone ([`enter_account`]), updated.
pub fn entrant_scoring(
    rules: &ScoringRules,
    entrant: &Entrant,
    opening_balance: Decimal,
    deals: &[PlatformDeal],
) -> brokeros_kernel::Result<(Scoring, AccountHistory)> {
    let mut scoring = Scoring::with_rules(rules.clone());
    let history = enter_account(&mut scoring, entrant, opening_balance, deals)?;
    scoring.update();
    Ok((scoring, history))
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_trading::DealEntry;

    fn deal(id: u64, position: u64, action: DealAction, entry: DealEntry, at: i64) -> PlatformDeal {
        PlatformDeal {
            deal: id,
            login: 7,
            order: id,
            position_id: position,
            symbol: "EURUSD".into(),
            action,
            entry,
            volume: Decimal::ONE,
            price: Decimal::ONE,
            profit: Decimal::ZERO,
            commission: Decimal::ZERO,
            swap: Decimal::ZERO,
            currency: "USD".into(),
            group: "real\\contest".into(),
            contract_size: Decimal::from(100_000),
            digits: 5,
            market_bid: Decimal::ONE,
            market_ask: Decimal::ONE,
            rate_profit: Decimal::ONE,
            time_msc: at,
        }
    }

    #[test]
    fn deals_become_trades_with_their_opening_cost_and_cash_flows() {
        let mut deposit = deal(1, 0, DealAction::Balance, DealEntry::In, 0);
        deposit.profit = Decimal::from(1000);
        deposit.volume = Decimal::ZERO;
        deposit.symbol.clear();
        let mut open = deal(2, 2, DealAction::Sell, DealEntry::In, 1_000);
        open.commission = Decimal::new(-350, 2);
        let mut close = deal(3, 2, DealAction::Buy, DealEntry::Out, 61_000);
        close.profit = Decimal::from(40);
        close.commission = Decimal::new(-350, 2);
        close.swap = Decimal::new(-50, 2);
        let mut credit = deal(4, 0, DealAction::Credit, DealEntry::In, 70_000);
        credit.profit = Decimal::from(-20);
        credit.volume = Decimal::ZERO;
        credit.symbol.clear();
        let mut broken = deal(5, 5, DealAction::Buy, DealEntry::In, 80_000);
        broken.volume = Decimal::ZERO;
        let history = account_history(&[close, credit, broken, open, deposit]);
        assert_eq!(history.trades.len(), 1);
        let trade = &history.trades[0];
        assert_eq!(trade.side, Side::Sell);
        assert_eq!((trade.opened_msc, trade.closed_msc), (1_000, 61_000));
        assert_eq!(trade.net, Decimal::new(3250, 2));
        let kinds: Vec<CashFlowKind> = history.cash_flows.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [CashFlowKind::Deposit, CashFlowKind::CreditOut]);
        assert_eq!(history.rejected, [5]);
    }
}
