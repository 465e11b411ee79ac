//! The trade server's bookkeeping of one transaction: the accounts, positions and deals it read,
//! the changes the platform makes to them (trades, balance operations, dealers' corrections
//! and cancellations), and the writes that store the outcome — each key once, conditional on
//! the version it was read at, with the new entries of the deal history in the order they were
//! made. Pure: the caller reads the state, acts on the book, and commits [`Book::into_ops`].

use std::collections::BTreeMap;

use brokeros_store::{Condition, Key, WriteOp};
use rust_decimal::Decimal;
use serde::Serialize;

use brokeros_trading::{
    BalanceOperationKind, Deal, DealAction, DealChange, DealChangeKind, DealEntry, DealScope,
    DealSide, Fill, MarketOrder, PlatformDeal, TradingError, currency_scale,
};
use time::OffsetDateTime;

use super::market::{self, SimulatedSymbol, simulated_usd_rate};
use super::records::{
    self, AccountRecord, ClosedPart, CounterRecord, DealRecord, FIRST_TICKET, OrderRecord,
    PositionRecord, put,
};

/// The most lots one deal may move: a sanity bound against typos.
pub(crate) const MAX_LOTS: Decimal = Decimal::from_parts(100, 0, 0, false, 0);
/// Lots are traded in steps of 0.01, the smallest deal.
const LOT_DECIMALS: u32 = 2;
pub(crate) const MIN_LOTS: Decimal = Decimal::from_parts(1, 0, 0, false, LOT_DECIMALS);

/// A stored value as read, and what the transaction makes of it.
#[derive(Debug, Clone)]
pub(crate) struct Tracked<T> {
    /// The version it was read at; `None` when absent.
    stored: Option<u64>,
    value: Option<T>,
    changed: bool,
}

impl<T: Serialize> Tracked<T> {
    pub(crate) fn read(stored: Option<(u64, T)>) -> Tracked<T> {
        match stored {
            Some((version, value)) => Tracked {
                stored: Some(version),
                value: Some(value),
                changed: false,
            },
            None => Tracked {
                stored: None,
                value: None,
                changed: false,
            },
        }
    }

    fn set(&mut self, value: T) {
        self.value = Some(value);
        self.changed = true;
    }

    fn remove(&mut self) {
        self.value = None;
        self.changed = true;
    }

    /// The write that takes the stored item to the tracked value, if it changed.
    fn op(&self, key: Key) -> Result<Option<WriteOp>, TradingError> {
        if !self.changed {
            return Ok(None);
        }
        Ok(match (&self.value, self.stored) {
            (Some(value), Some(version)) => {
                Some(put(key, version + 1, value, Condition::VersionIs(version))?)
            }
            (Some(value), None) => Some(put(key, 1, value, Condition::NotExists)?),
            (None, Some(version)) => Some(WriteOp::Delete {
                table: brokeros_store::Table::Main,
                key,
                condition: Condition::VersionIs(version),
            }),
            (None, None) => None,
        })
    }
}

/// What a dealer changes in a deal.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DealCorrection {
    pub volume: Option<Decimal>,
    pub price: Option<Decimal>,
}

pub(crate) struct Book {
    server: String,
    accounts: BTreeMap<u64, Tracked<AccountRecord>>,
    positions: BTreeMap<(u64, u64), Tracked<PositionRecord>>,
    deals: BTreeMap<u64, Tracked<DealRecord>>,
    /// Market orders by their id (read to answer a repeated id, written when executed).
    orders: BTreeMap<String, Tracked<OrderRecord>>,
    tickets: Tracked<CounterRecord>,
    history: Tracked<CounterRecord>,
    /// The history entries this transaction adds, by their number.
    appended: Vec<(u64, DealChange)>,
    /// Closed trades to publish on the closed-deal feeds of their account and group.
    closed_trades: Vec<(Deal, String)>,
}

/// The first number of a server's deal history.
const FIRST_HISTORY_ENTRY: u64 = 1;

impl Book {
    pub(crate) fn new(
        server: &str,
        tickets: Option<(u64, CounterRecord)>,
        history: Option<(u64, CounterRecord)>,
    ) -> Book {
        Book {
            server: server.to_string(),
            accounts: BTreeMap::new(),
            positions: BTreeMap::new(),
            deals: BTreeMap::new(),
            orders: BTreeMap::new(),
            tickets: Tracked::read(tickets),
            history: Tracked::read(history),
            appended: Vec::new(),
            closed_trades: Vec::new(),
        }
    }

    /// Adds an account as read at `version`.
    pub(crate) fn read_account(&mut self, version: u64, account: AccountRecord) {
        self.accounts
            .insert(account.login, Tracked::read(Some((version, account))));
    }

    /// Adds an open position as read at `version`.
    pub(crate) fn read_position(&mut self, version: u64, position: PositionRecord) {
        self.positions.insert(
            (position.login, position.position_id),
            Tracked::read(Some((version, position))),
        );
    }

    /// Adds a deal's latest revision as read at `version`.
    pub(crate) fn read_deal(&mut self, version: u64, deal: DealRecord) {
        self.deals
            .insert(deal.deal.deal, Tracked::read(Some((version, deal))));
    }

    /// Adds a market order's record as read: `None` when that id was never executed.
    pub(crate) fn read_order(&mut self, order_id: &str, stored: Option<(u64, OrderRecord)>) {
        self.orders
            .insert(order_id.to_string(), Tracked::read(stored));
    }

    /// The writes of everything done on the book, each key once.
    pub(crate) fn into_ops(self) -> Result<Vec<WriteOp>, TradingError> {
        let mut ops = Vec::new();
        let mut push = |op: Option<WriteOp>| ops.extend(op);
        push(self.tickets.op(records::ticket_counter())?);
        push(self.history.op(records::history_counter())?);
        for (login, account) in &self.accounts {
            push(account.op(records::account(*login))?);
        }
        for ((login, position_id), position) in &self.positions {
            push(position.op(records::position(*login, *position_id))?);
        }
        for (ticket, deal) in &self.deals {
            push(deal.op(records::deal(*ticket))?);
        }
        for (order_id, order) in &self.orders {
            push(order.op(records::order(order_id))?);
        }
        for (deal, group) in &self.closed_trades {
            let sort_key = records::deal_sort_key(deal.deal_id);
            for scope in [
                DealScope::Login(deal.login),
                DealScope::Group(group.clone()),
            ] {
                let key = Key::new(records::deal_feed(&scope), sort_key.clone());
                push(Some(put(key, 1, deal, Condition::NotExists)?));
            }
        }
        for (number, change) in &self.appended {
            let key = Key::new(
                records::history(&self.server),
                records::deal_sort_key(*number),
            );
            push(Some(put(key, 1, change, Condition::NotExists)?));
        }
        Ok(ops)
    }

    /// How many writes [`Book::into_ops`] would give now (an upper bound).
    pub(crate) fn pending_ops(&self) -> usize {
        2 + self.accounts.values().filter(|a| a.changed).count()
            + self.positions.values().filter(|p| p.changed).count()
            + self.deals.values().filter(|d| d.changed).count()
            + self.orders.values().filter(|o| o.changed).count()
            + self.appended.len()
            + 2 * self.closed_trades.len()
    }

    /// The history entries added so far, in order.
    pub(crate) fn appended(&self) -> impl Iterator<Item = &DealChange> {
        self.appended.iter().map(|(_, change)| change)
    }

    pub(crate) fn account(&self, login: u64) -> Result<&AccountRecord, TradingError> {
        self.accounts
            .get(&login)
            .and_then(|a| a.value.as_ref())
            .ok_or(TradingError::AccountNotFound { login })
    }

    /// The open positions of `login` the book holds, oldest first.
    pub(crate) fn open_positions(&self, login: u64) -> Vec<&PositionRecord> {
        self.positions
            .range((login, 0)..=(login, u64::MAX))
            .filter_map(|(_, p)| p.value.as_ref())
            .collect()
    }

    fn position(&self, login: u64, position_id: u64) -> Result<PositionRecord, TradingError> {
        self.positions
            .get(&(login, position_id))
            .and_then(|p| p.value.clone())
            .ok_or_else(|| {
                TradingError::InvalidRequest(format!(
                    "position {position_id} of login {login} is not open"
                ))
            })
    }

    fn set_position(&mut self, position: PositionRecord) {
        let key = (position.login, position.position_id);
        self.positions
            .entry(key)
            .or_insert_with(|| Tracked::read(None))
            .set(position);
    }

    fn remove_position(&mut self, login: u64, position_id: u64) {
        if let Some(position) = self.positions.get_mut(&(login, position_id)) {
            position.remove();
        }
    }

    fn next_ticket(&mut self) -> u64 {
        let ticket = self.tickets.value.map_or(FIRST_TICKET, |c| c.next);
        self.tickets.set(CounterRecord { next: ticket + 1 });
        ticket
    }

    fn append(&mut self, kind: DealChangeKind, record: &DealRecord, changed_at_msc: i64) {
        let number = self.history.value.map_or(FIRST_HISTORY_ENTRY, |c| c.next);
        self.history.set(CounterRecord { next: number + 1 });
        self.appended.push((
            number,
            DealChange {
                kind,
                revision: record.revision,
                deal: record.deal.clone(),
                changed_at_msc,
            },
        ));
    }

    /// Moves the account's balance by what `deal` books (profit, commission and swap).
    fn settle(&mut self, login: u64, amount: Decimal) -> Result<(), TradingError> {
        let mut account = self.account(login)?.clone();
        account.balance = account.balance.checked_add(amount).ok_or_else(|| {
            TradingError::InvalidAmount(format!("{amount} would overflow the account's balance"))
        })?;
        self.accounts
            .get_mut(&login)
            .expect("account() found it")
            .set(account);
        Ok(())
    }

    /// Books a new deal: its record, its history entry and its effect on the balance.
    fn book(&mut self, record: DealRecord) -> Result<PlatformDeal, TradingError> {
        let deal = record.deal.clone();
        self.settle(deal.login, net(&deal))?;
        self.append(DealChangeKind::Added, &record, deal.time_msc);
        self.deals
            .entry(deal.deal)
            .or_insert_with(|| Tracked::read(None))
            .set(record);
        Ok(deal)
    }

    /// Books a balance or credit operation as its deal and applies `account_after` (the
    /// account with the operation applied). Returns the deal's ticket.
    pub(crate) fn balance_operation(
        &mut self,
        account_after: AccountRecord,
        kind: BalanceOperationKind,
        amount: Decimal,
        at_msc: i64,
    ) -> u64 {
        let ticket = self.next_ticket();
        let (action, signed) = match kind {
            BalanceOperationKind::Deposit => (DealAction::Balance, amount),
            BalanceOperationKind::Withdrawal => (DealAction::Balance, -amount),
            BalanceOperationKind::CreditIn => (DealAction::Credit, amount),
            BalanceOperationKind::CreditOut => (DealAction::Credit, -amount),
        };
        let deal = PlatformDeal {
            deal: ticket,
            login: account_after.login,
            order: 0,
            position_id: 0,
            symbol: String::new(),
            action,
            entry: DealEntry::In,
            volume: Decimal::ZERO,
            price: Decimal::ZERO,
            profit: signed,
            commission: Decimal::ZERO,
            swap: Decimal::ZERO,
            currency: account_after.currency.clone(),
            group: account_after.group.clone(),
            contract_size: Decimal::ZERO,
            digits: 0,
            market_bid: Decimal::ZERO,
            market_ask: Decimal::ZERO,
            rate_profit: Decimal::ONE,
            time_msc: at_msc,
        };
        let record = DealRecord {
            revision: 0,
            cancelled: false,
            deal,
            closed: None,
        };
        self.append(DealChangeKind::Added, &record, at_msc);
        self.accounts
            .entry(account_after.login)
            .or_insert_with(|| Tracked::read(None))
            .set(account_after);
        ticket
    }

    /// Opens a new position of `lots` on `side` at the market (hedging: every opening deal
    /// opens its own position, so opposite positions can be open at once).
    pub(crate) fn open(
        &mut self,
        login: u64,
        symbol: &str,
        side: DealSide,
        lots: Decimal,
        at_msc: i64,
    ) -> Result<PlatformDeal, TradingError> {
        let spec = symbol_spec(symbol)?;
        check_trade(lots, at_msc)?;
        let order = self.next_ticket();
        let ticket = self.next_ticket();
        let quote = market::quote(spec, at_msc);
        let price = market::price(spec, quote.price_for(side));
        let record = self.trade(
            login,
            spec,
            Trade {
                order,
                ticket,
                position_id: ticket,
                side,
                entry: DealEntry::In,
                lots,
                price,
                at_msc,
                closed: None,
            },
        )?;
        self.set_position(PositionRecord {
            position_id: ticket,
            login,
            symbol: symbol.to_string(),
            side,
            volume: lots,
            open_price: price,
            opened_at_msc: at_msc,
        });
        self.book(record)
    }

    /// Executes a market order (an open, or the close of part or all of a position), or
    /// answers the fill of the order's id executed before; the order's record must have been
    /// read ([`Book::read_order`]).
    pub(crate) fn market_order(
        &mut self,
        order: &MarketOrder,
        at: OffsetDateTime,
    ) -> Result<Fill, TradingError> {
        let executed = self
            .orders
            .get(&order.order_id)
            .expect("the order's record was read")
            .value
            .clone();
        if let Some(executed) = executed {
            // Volumes compare by value: 0.1 and 0.10 are the same order.
            if executed.request != *order {
                return Err(TradingError::Conflict(format!(
                    "order_id {} was executed with different data",
                    order.order_id
                )));
            }
            return Ok(executed.fill);
        }
        symbol_spec(&order.symbol)?;
        let at_msc = msc(at);
        let deal = match order.closes_position {
            None => self.open(order.login, &order.symbol, order.side, order.volume, at_msc)?,
            Some(position_id) => {
                let position = self.position(order.login, position_id)?;
                if position.symbol != order.symbol || position.side == order.side {
                    return Err(TradingError::InvalidRequest(format!(
                        "position {position_id} is a {:?} position of {}: a {:?} order of {} does not close it",
                        position.side, position.symbol, order.side, order.symbol
                    )));
                }
                self.close(order.login, position_id, order.volume, at_msc)?
            }
        };
        let fill = Fill {
            order_id: order.order_id.clone(),
            login: order.login,
            deal: deal.deal,
            position_id: deal.position_id,
            symbol: deal.symbol,
            side: order.side,
            volume: deal.volume,
            price: deal.price,
            // The deal's own time, to the millisecond the history keeps.
            executed_at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_msc) * 1_000_000)
                .expect("a time the clock gave"),
        };
        self.orders
            .get_mut(&order.order_id)
            .expect("the order's record was read")
            .set(OrderRecord {
                request: order.clone(),
                fill: fill.clone(),
            });
        Ok(fill)
    }

    /// Closes `lots` of a position at the market: all of it, or part (the rest stays open).
    pub(crate) fn close(
        &mut self,
        login: u64,
        position_id: u64,
        lots: Decimal,
        at_msc: i64,
    ) -> Result<PlatformDeal, TradingError> {
        self.close_at_market(login, position_id, lots, at_msc, DealEntry::Out)
    }

    /// Reverses a position (MT5's `inout`): one deal of `lots`, more than the position holds,
    /// closes it and opens the opposite side with the rest under the same position id.
    pub(crate) fn reverse(
        &mut self,
        login: u64,
        position_id: u64,
        lots: Decimal,
        at_msc: i64,
    ) -> Result<PlatformDeal, TradingError> {
        self.close_at_market(login, position_id, lots, at_msc, DealEntry::InOut)
    }

    /// One deal against a position at the market: `Out` closes up to its volume, `InOut` more.
    fn close_at_market(
        &mut self,
        login: u64,
        position_id: u64,
        lots: Decimal,
        at_msc: i64,
        entry: DealEntry,
    ) -> Result<PlatformDeal, TradingError> {
        check_trade(lots, at_msc)?;
        let position = self.position(login, position_id)?;
        let reversing = entry == DealEntry::InOut;
        if reversing != (lots > position.volume) {
            let needed = if reversing { "more than" } else { "at most" };
            return Err(TradingError::InvalidRequest(format!(
                "position {position_id} holds {} lots: a {entry:?} deal takes {needed} that, not {lots}",
                position.volume
            )));
        }
        let spec = symbol_spec(&position.symbol)?;
        let side = opposite(position.side);
        let quote = market::quote(spec, at_msc);
        let price = market::price(spec, quote.price_for(side));
        let order = self.next_ticket();
        let ticket = self.next_ticket();
        let record = self.trade(
            login,
            spec,
            Trade {
                order,
                ticket,
                position_id,
                side,
                entry,
                lots,
                price,
                at_msc,
                closed: Some(closed_part(&position, lots.min(position.volume))),
            },
        )?;
        if reversing {
            self.set_position(PositionRecord {
                side,
                volume: lots - position.volume,
                open_price: price,
                opened_at_msc: at_msc,
                ..position
            });
        } else {
            self.reduce_position(&position, lots);
        }
        self.book(record)
    }

    /// Takes `lots` off an open position, which closes when none are left.
    fn reduce_position(&mut self, position: &PositionRecord, lots: Decimal) {
        if lots == position.volume {
            self.remove_position(position.login, position.position_id);
        } else {
            self.set_position(PositionRecord {
                volume: position.volume - lots,
                ..position.clone()
            });
        }
    }

    /// Books a whole trade at once, as the closed-deal summary `trade` describes it (its prices,
    /// times and amounts as given, its ticket the platform's): the opening and the closing deal
    /// in the history (the commission split between them), and the summary on the closed-deal
    /// feeds under the closing deal's ticket, which it returns.
    pub(crate) fn round_trip(&mut self, mut trade: Deal) -> Result<Deal, TradingError> {
        let spec = symbol_spec(&trade.symbol)?;
        let account = self.account(trade.login)?.clone();
        let scale = currency_scale(&account.currency).ok_or_else(|| {
            TradingError::Storage(format!("account {} has an unknown currency", account.login))
        })?;
        let opened_at_msc = msc(trade.opened_at);
        let closed_at_msc = msc(trade.closed_at);
        let opening_commission = market::at_scale(trade.commission / Decimal::TWO, scale);
        let closing_side = opposite(trade.side);
        let spread = market::price(spec, spec.spread_points);
        // The market as the deal met it: buyers at the ask, sellers at the bid.
        let quoted = |side: DealSide, price: Decimal| match side {
            DealSide::Buy => (price - spread, price),
            DealSide::Sell => (price, price + spread),
        };
        let in_order = self.next_ticket();
        let in_ticket = self.next_ticket();
        let out_order = self.next_ticket();
        let out_ticket = self.next_ticket();
        let (in_bid, in_ask) = quoted(trade.side, trade.open_price);
        let (out_bid, out_ask) = quoted(closing_side, trade.close_price);
        let deal = |ticket, order, side, entry, price, bid, ask, time_msc| PlatformDeal {
            deal: ticket,
            login: account.login,
            order,
            position_id: in_ticket,
            symbol: spec.name.to_string(),
            action: match side {
                DealSide::Buy => DealAction::Buy,
                DealSide::Sell => DealAction::Sell,
            },
            entry,
            volume: trade.volume,
            price,
            profit: Decimal::ZERO,
            commission: Decimal::ZERO,
            swap: Decimal::ZERO,
            currency: account.currency.clone(),
            group: account.group.clone(),
            contract_size: Decimal::from(spec.contract_size),
            digits: spec.digits,
            market_bid: bid,
            market_ask: ask,
            rate_profit: Decimal::ZERO,
            time_msc,
        };
        let rate_profit = usd_rate(&account)?;
        let opening = PlatformDeal {
            commission: opening_commission,
            rate_profit,
            ..deal(
                in_ticket,
                in_order,
                trade.side,
                DealEntry::In,
                trade.open_price,
                in_bid,
                in_ask,
                opened_at_msc,
            )
        };
        let closing = PlatformDeal {
            profit: trade.profit,
            commission: trade.commission - opening_commission,
            swap: trade.swap,
            rate_profit,
            ..deal(
                out_ticket,
                out_order,
                closing_side,
                DealEntry::Out,
                trade.close_price,
                out_bid,
                out_ask,
                closed_at_msc,
            )
        };
        let closed = ClosedPart {
            side: trade.side,
            volume: trade.volume,
            open_price: trade.open_price,
            opened_at_msc,
        };
        for (deal, closed) in [(opening, None), (closing, Some(closed))] {
            self.book(DealRecord {
                revision: 0,
                cancelled: false,
                deal,
                closed,
            })?;
        }
        trade.deal_id = out_ticket;
        self.closed_trades.push((trade.clone(), account.group));
        Ok(trade)
    }

    /// Closes a position by an opposite one of the same symbol (MT5's `out_by`): both close by
    /// the smaller volume, each at the other's open price, with one order and no commission.
    pub(crate) fn close_by(
        &mut self,
        login: u64,
        position_id: u64,
        by_position_id: u64,
        at_msc: i64,
    ) -> Result<[PlatformDeal; 2], TradingError> {
        check_trade(Decimal::ONE, at_msc)?;
        let first = self.position(login, position_id)?;
        let second = self.position(login, by_position_id)?;
        if first.symbol != second.symbol || first.side == second.side {
            return Err(TradingError::InvalidRequest(format!(
                "positions {position_id} and {by_position_id} are not opposite positions of one symbol"
            )));
        }
        let spec = symbol_spec(&first.symbol)?;
        let lots = first.volume.min(second.volume);
        let order = self.next_ticket();
        let mut deals = Vec::with_capacity(2);
        for (closing, other) in [(&first, &second), (&second, &first)] {
            let ticket = self.next_ticket();
            let record = self.trade(
                login,
                spec,
                Trade {
                    order,
                    ticket,
                    position_id: closing.position_id,
                    side: opposite(closing.side),
                    entry: DealEntry::OutBy,
                    lots,
                    price: other.open_price,
                    at_msc,
                    closed: Some(closed_part(closing, lots)),
                },
            )?;
            self.reduce_position(closing, lots);
            deals.push(self.book(record)?);
        }
        Ok(deals.try_into().expect("two deals"))
    }

    /// A dealer's correction of a trade: its next revision with the new volume or price, the
    /// amounts recomputed, the balance moved by the difference. Positions are left as they are
    /// (a correction fixes the record of a deal, not the market).
    pub(crate) fn correct(
        &mut self,
        ticket: u64,
        correction: DealCorrection,
        at_msc: i64,
    ) -> Result<DealChange, TradingError> {
        let current = self.live_deal(ticket)?;
        let deal = &current.deal;
        let lots = correction.volume.unwrap_or(deal.volume);
        let price = correction.price.unwrap_or(deal.price);
        if price <= Decimal::ZERO || lots.scale() > LOT_DECIMALS || lots.abs() > MAX_LOTS {
            return Err(TradingError::InvalidRequest(format!(
                "a correction to {lots} lots at {price} is not a deal"
            )));
        }
        let spec = symbol_spec(&deal.symbol)?;
        let closed = current.closed.map(|part| ClosedPart {
            volume: if deal.entry == DealEntry::InOut {
                part.volume.min(lots)
            } else {
                lots
            },
            ..part
        });
        let account = self.account(deal.login)?.clone();
        let (profit, commission, swap) = amounts(
            spec,
            &account,
            deal.entry,
            lots,
            price,
            closed,
            deal.time_msc,
        )?;
        let corrected = DealRecord {
            revision: current.revision + 1,
            cancelled: false,
            deal: PlatformDeal {
                volume: lots,
                price,
                profit,
                commission,
                swap,
                ..deal.clone()
            },
            closed,
        };
        self.settle(deal.login, net(&corrected.deal) - net(deal))?;
        self.append(DealChangeKind::Corrected, &corrected, at_msc);
        let change = self.appended.last().expect("just appended").1.clone();
        self.deals
            .get_mut(&ticket)
            .expect("live_deal found it")
            .set(corrected);
        Ok(change)
    }

    /// A dealer's cancellation of a trade: its next revision, which takes back what it booked.
    pub(crate) fn cancel(&mut self, ticket: u64, at_msc: i64) -> Result<DealChange, TradingError> {
        let current = self.live_deal(ticket)?;
        let cancelled = DealRecord {
            revision: current.revision + 1,
            cancelled: true,
            ..current.clone()
        };
        self.settle(current.deal.login, -net(&current.deal))?;
        self.append(DealChangeKind::Cancelled, &cancelled, at_msc);
        let change = self.appended.last().expect("just appended").1.clone();
        self.deals
            .get_mut(&ticket)
            .expect("live_deal found it")
            .set(cancelled);
        Ok(change)
    }

    /// Books a trade deal of `lots` the way a faulty gateway or a dealer's slip would, without
    /// checking it and without touching positions or the balance: for proving that readers
    /// refuse what they cannot account for (e.g. zero or negative volume).
    pub(crate) fn malformed(
        &mut self,
        login: u64,
        symbol: &str,
        lots: Decimal,
        at_msc: i64,
    ) -> Result<PlatformDeal, TradingError> {
        let spec = symbol_spec(symbol)?;
        let account = self.account(login)?.clone();
        let order = self.next_ticket();
        let ticket = self.next_ticket();
        let quote = market::quote(spec, at_msc);
        let deal = PlatformDeal {
            deal: ticket,
            login,
            order,
            position_id: ticket,
            symbol: spec.name.to_string(),
            action: DealAction::Buy,
            entry: DealEntry::In,
            volume: lots,
            price: market::price(spec, quote.ask),
            profit: Decimal::ZERO,
            commission: Decimal::ZERO,
            swap: Decimal::ZERO,
            currency: account.currency.clone(),
            group: account.group.clone(),
            contract_size: Decimal::from(spec.contract_size),
            digits: spec.digits,
            market_bid: market::price(spec, quote.bid),
            market_ask: market::price(spec, quote.ask),
            rate_profit: usd_rate(&account)?,
            time_msc: at_msc,
        };
        self.book(DealRecord {
            revision: 0,
            cancelled: false,
            deal,
            closed: None,
        })
    }

    /// The tickets of the trades this book holds that are not cancelled, in ticket order.
    pub(crate) fn live_trades(&self) -> Vec<u64> {
        self.deals
            .iter()
            .filter_map(|(ticket, d)| d.value.as_ref().map(|r| (ticket, r)))
            .filter(|(_, r)| !r.cancelled && r.deal.action.is_trade())
            .map(|(ticket, _)| *ticket)
            .collect()
    }

    /// The deal `ticket` as this book holds it.
    pub(crate) fn deal(&self, ticket: u64) -> Option<&PlatformDeal> {
        self.deals.get(&ticket)?.value.as_ref().map(|r| &r.deal)
    }

    fn live_deal(&self, ticket: u64) -> Result<DealRecord, TradingError> {
        let record = self
            .deals
            .get(&ticket)
            .and_then(|d| d.value.clone())
            .ok_or_else(|| {
                TradingError::InvalidRequest(format!("deal {ticket} is not a trade of this server"))
            })?;
        if record.cancelled {
            return Err(TradingError::InvalidRequest(format!(
                "deal {ticket} is cancelled"
            )));
        }
        Ok(record)
    }

    fn trade(
        &self,
        login: u64,
        spec: &SimulatedSymbol,
        trade: Trade,
    ) -> Result<DealRecord, TradingError> {
        let account = self.account(login)?;
        let quote = market::quote(spec, trade.at_msc);
        let (profit, commission, swap) = amounts(
            spec,
            account,
            trade.entry,
            trade.lots,
            trade.price,
            trade.closed,
            trade.at_msc,
        )?;
        let action = match trade.side {
            DealSide::Buy => DealAction::Buy,
            DealSide::Sell => DealAction::Sell,
        };
        Ok(DealRecord {
            revision: 0,
            cancelled: false,
            deal: PlatformDeal {
                deal: trade.ticket,
                login,
                order: trade.order,
                position_id: trade.position_id,
                symbol: spec.name.to_string(),
                action,
                entry: trade.entry,
                volume: trade.lots,
                price: trade.price,
                profit,
                commission,
                swap,
                currency: account.currency.clone(),
                group: account.group.clone(),
                contract_size: Decimal::from(spec.contract_size),
                digits: spec.digits,
                market_bid: market::price(spec, quote.bid),
                market_ask: market::price(spec, quote.ask),
                rate_profit: usd_rate(account)?,
                time_msc: trade.at_msc,
            },
            closed: trade.closed,
        })
    }
}

struct Trade {
    order: u64,
    ticket: u64,
    position_id: u64,
    side: DealSide,
    entry: DealEntry,
    lots: Decimal,
    price: Decimal,
    at_msc: i64,
    closed: Option<ClosedPart>,
}

/// A deal's profit (of the part it closed), commission (none for a close by) and swap (of the
/// part it closed, per night held), in the account's currency.
fn amounts(
    spec: &SimulatedSymbol,
    account: &AccountRecord,
    entry: DealEntry,
    lots: Decimal,
    price: Decimal,
    closed: Option<ClosedPart>,
    at_msc: i64,
) -> Result<(Decimal, Decimal, Decimal), TradingError> {
    let scale = currency_scale(&account.currency).ok_or_else(|| {
        TradingError::Storage(format!("account {} has an unknown currency", account.login))
    })?;
    let rate = usd_rate(account)?;
    let commission = if entry == DealEntry::OutBy {
        Decimal::ZERO
    } else {
        market::commission(lots.abs(), rate, scale)
    };
    let (profit, swap) = match closed {
        None => (Decimal::ZERO, Decimal::ZERO),
        Some(part) => (
            market::profit(
                spec,
                part.side,
                part.open_price,
                price,
                part.volume,
                rate,
                scale,
            ),
            market::swap(part.volume, part.opened_at_msc, at_msc, rate, scale),
        ),
    };
    Ok((profit, commission, swap))
}

/// What a deal does to the balance.
pub(crate) fn net(deal: &PlatformDeal) -> Decimal {
    deal.profit + deal.commission + deal.swap
}

fn closed_part(position: &PositionRecord, lots: Decimal) -> ClosedPart {
    ClosedPart {
        side: position.side,
        open_price: position.open_price,
        opened_at_msc: position.opened_at_msc,
        volume: lots,
    }
}

fn usd_rate(account: &AccountRecord) -> Result<Decimal, TradingError> {
    simulated_usd_rate(&account.currency)
        .ok_or_else(|| TradingError::Storage(format!("no simulated rate for {}", account.currency)))
}

/// Milliseconds since the epoch.
pub(crate) fn msc(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

fn opposite(side: DealSide) -> DealSide {
    match side {
        DealSide::Buy => DealSide::Sell,
        DealSide::Sell => DealSide::Buy,
    }
}

fn symbol_spec(symbol: &str) -> Result<&'static SimulatedSymbol, TradingError> {
    market::symbol(symbol).ok_or_else(|| {
        TradingError::InvalidRequest(format!(
            "{symbol} is not a symbol of the simulated platform"
        ))
    })
}

fn check_trade(lots: Decimal, at_msc: i64) -> Result<(), TradingError> {
    if lots <= Decimal::ZERO || lots > MAX_LOTS || lots.normalize().scale() > LOT_DECIMALS {
        return Err(TradingError::InvalidRequest(format!(
            "lots must be 0.01 to {MAX_LOTS} in steps of 0.01, not {lots}"
        )));
    }
    if at_msc < 0 {
        return Err(TradingError::InvalidRequest(format!(
            "time {at_msc} is before the epoch"
        )));
    }
    Ok(())
}
