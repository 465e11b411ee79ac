//! Properties of sizing and copying over random figures and deal streams.

use proptest::prelude::*;
use rust_decimal::Decimal;

use super::copier::{Follower, Outcome, ProviderDeal, Side};
use super::sizing::tests::{d, fx};
use super::sizing::{Figures, Sizing};
use super::terms::{Mark, StrategyTerms};

fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

fn proportional() -> impl Strategy<Value = Sizing> {
    prop_oneof![
        Just(Sizing::Balance),
        Just(Sizing::Equity),
        (1i64..500).prop_map(|r| Sizing::BalanceRatio {
            ratio: Decimal::new(r, 2)
        }),
    ]
}

fn any_sizing() -> impl Strategy<Value = Sizing> {
    prop_oneof![
        proportional(),
        (1i64..500).prop_map(|l| Sizing::FixedLot {
            lots: Decimal::new(l, 2)
        }),
        (1i64..500).prop_map(|f| Sizing::Multiplier {
            factor: Decimal::new(f, 2)
        }),
    ]
}

/// A stream of provider deals over a few positions: opens, partial and whole closes, and
/// deals delivered again.
fn deals() -> impl Strategy<Value = Vec<ProviderDeal>> {
    prop::collection::vec(
        (0u64..4, 0u8..3, 1i64..300, prop::bool::weighted(0.2)),
        1..40,
    )
    .prop_map(|raw| {
        let mut open = [Decimal::ZERO; 4];
        let mut out: Vec<ProviderDeal> = Vec::new();
        let mut ticket = 0;
        for (position, kind, volume, again) in raw {
            if again && let Some(last) = out.last().cloned() {
                out.push(last);
                continue;
            }
            ticket += 1;
            let p = position as usize;
            let volume = Decimal::new(volume, 2);
            if kind == 0 || open[p].is_zero() {
                open[p] += volume;
                out.push(ProviderDeal::Open {
                    deal: ticket,
                    position,
                    symbol: "EURUSD".into(),
                    side: Side::Buy,
                    volume,
                });
            } else {
                let closed = if kind == 1 {
                    volume.min(open[p])
                } else {
                    open[p]
                };
                open[p] -= closed;
                out.push(ProviderDeal::Close {
                    deal: ticket,
                    position,
                    volume: closed,
                });
            }
        }
        out
    })
}

proptest! {
    #[test]
    fn proportional_sizes_grow_with_the_follower_s_money(
        sizing in proportional(),
        provider_volume in 1i64..10_000,
        provider_money in 1i64..10_000_000,
        low in 0i64..5_000_000,
        more in 0i64..5_000_000,
    ) {
        let at = |follower: i64| Figures {
            provider_volume: Decimal::new(provider_volume, 2),
            provider_balance: money(provider_money),
            provider_equity: money(provider_money),
            follower_balance: money(follower),
            follower_equity: money(follower),
        };
        let volume = |follower| sizing.size(&at(follower), &fx()).volume.unwrap_or_default();
        prop_assert!(volume(low) <= volume(low + more));
    }

    #[test]
    fn every_deal_gives_one_outcome_per_follower_and_closes_never_exceed_opens(
        sizings in prop::collection::vec(any_sizing(), 1..4),
        stream in deals(),
    ) {
        let figures = Figures {
            provider_volume: Decimal::ZERO,
            provider_balance: d("10000"),
            provider_equity: d("9000"),
            follower_balance: d("2500"),
            follower_equity: d("2600"),
        };
        let distinct: std::collections::BTreeSet<u64> = stream.iter().map(|deal| deal.deal()).collect();
        for sizing in sizings {
            let mut follower = Follower::new(sizing);
            let mut outcomes = 0;
            let mut held = [Decimal::ZERO; 4];
            for deal in &stream {
                match follower.follow(deal, &figures, &fx()) {
                    Outcome::Replayed => continue,
                    Outcome::Open { position, volume, .. } => held[position as usize] += volume,
                    Outcome::Close { position, volume } => {
                        held[position as usize] -= volume;
                        prop_assert!(held[position as usize] >= Decimal::ZERO, "closed more than held");
                    }
                    Outcome::Skipped { .. } => {}
                }
                outcomes += 1;
            }
            prop_assert_eq!(outcomes, distinct.len());
            // What the follower still holds is what its state says.
            for (position, copied) in &follower.positions {
                prop_assert_eq!(copied.follower_open, held[*position as usize]);
            }
        }
    }

    #[test]
    fn a_follower_s_gain_is_charged_once(
        percent in 0i64..=100,
        start in 1i64..10_000_000,
        path in prop::collection::vec(1i64..20_000_000, 1..20),
    ) {
        let terms = StrategyTerms {
            currency: "USD".into(),
            performance_fee: Decimal::from(percent),
            subscription_fee: Decimal::ZERO,
            min_follower_equity: Decimal::ZERO,
        };
        let mut mark = Mark::at_subscription(money(start));
        let (mut charged, mut peak) = (Decimal::ZERO, money(start));
        for cents in path {
            // The account moves to `cents`, less the fees already paid out of it.
            let equity = money(cents) - charged;
            peak = peak.max(money(cents));
            let fee = mark.settle(&terms, equity).unwrap();
            prop_assert_eq!(mark.settle(&terms, equity - fee).unwrap(), Decimal::ZERO, "charged again");
            charged += fee;
        }
        // Never more than the percent of the best gain over the start.
        prop_assert!(charged <= (peak - money(start)).max(Decimal::ZERO) * Decimal::from(percent) / Decimal::ONE_HUNDRED);
    }
}
