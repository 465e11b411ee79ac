//! What a follower does with each of the provider's deals: an open becomes an open of the
//! sized volume, a close (whole or partial) closes the follower's matching position in the same
//! proportion, and anything not copied says why. Each provider deal gives exactly one outcome
//! per subscription: a deal seen again gives none (`Replayed`).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::sizing::{Figures, SizeNote, Sizing, VolumeLimits};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = CopySide)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Buy,
    Sell,
}

/// A provider's deal as copying reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ProviderDeal {
    Open {
        deal: u64,
        position: u64,
        symbol: String,
        side: Side,
        volume: Decimal,
    },
    /// `volume` of the position closed (all of it, or part).
    Close {
        deal: u64,
        position: u64,
        volume: Decimal,
    },
}

impl ProviderDeal {
    pub fn deal(&self) -> u64 {
        match self {
            ProviderDeal::Open { deal, .. } | ProviderDeal::Close { deal, .. } => *deal,
        }
    }
}

/// Why a deal was not copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    Size(SizeNote),
    /// The subscription is paused: it opens nothing new (closes still follow).
    Paused,
    /// The follower reached their maximum loss and left copying.
    Detached,
    /// The provider closes a position the follower does not hold (its open was not copied).
    NotHeld,
    /// The proportional part of a partial close is under the symbol's minimum: the follower
    /// keeps the position until the provider closes more.
    CloseBelowMinimum,
}

/// What the follower does with one deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    Open {
        position: u64,
        side: Side,
        volume: Decimal,
        /// The size's note (cut to the symbol's maximum), if any.
        note: Option<SizeNote>,
    },
    Close {
        position: u64,
        volume: Decimal,
    },
    Skipped {
        reason: Skip,
    },
    /// Seen before: nothing to do again.
    Replayed,
}

/// The follower's copy of one provider position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copied {
    pub provider_open: Decimal,
    pub follower_open: Decimal,
}

/// A subscription's copying state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Follower {
    pub sizing: Sizing,
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub detached: bool,
    /// The provider deals seen, so that none is copied twice.
    pub seen: BTreeSet<u64>,
    /// By provider position.
    pub positions: BTreeMap<u64, Copied>,
}

impl Follower {
    pub fn new(sizing: Sizing) -> Follower {
        Follower {
            sizing,
            paused: false,
            detached: false,
            seen: BTreeSet::new(),
            positions: BTreeMap::new(),
        }
    }

    /// The follower's outcome for `deal`, recorded in its state.
    pub fn follow(
        &mut self,
        deal: &ProviderDeal,
        figures: &Figures,
        limits: &VolumeLimits,
    ) -> Outcome {
        if !self.seen.insert(deal.deal()) {
            return Outcome::Replayed;
        }
        let skipped = |reason| Outcome::Skipped { reason };
        match deal {
            ProviderDeal::Open {
                position,
                side,
                volume,
                ..
            } => {
                if self.detached {
                    return skipped(Skip::Detached);
                }
                if self.paused {
                    return skipped(Skip::Paused);
                }
                let figures = Figures {
                    provider_volume: *volume,
                    ..*figures
                };
                let size = self.sizing.size(&figures, limits);
                let Some(copied) = size.volume else {
                    return skipped(Skip::Size(
                        size.note.unwrap_or(SizeNote::BelowMinimumVolume),
                    ));
                };
                let entry = self.positions.entry(*position).or_insert(Copied {
                    provider_open: Decimal::ZERO,
                    follower_open: Decimal::ZERO,
                });
                entry.provider_open += volume;
                entry.follower_open += copied;
                Outcome::Open {
                    position: *position,
                    side: *side,
                    volume: copied,
                    note: size.note,
                }
            }
            ProviderDeal::Close {
                position, volume, ..
            } => {
                let Some(held) = self.positions.get_mut(position) else {
                    return skipped(Skip::NotHeld);
                };
                let closes_all = *volume >= held.provider_open;
                let part = if closes_all {
                    held.follower_open
                } else {
                    let part =
                        limits.down_to_step(held.follower_open * volume / held.provider_open);
                    // What would be left under the minimum goes with it.
                    if held.follower_open - part < limits.min {
                        held.follower_open
                    } else {
                        part
                    }
                };
                held.provider_open = (held.provider_open - volume).max(Decimal::ZERO);
                if part < limits.min && !closes_all {
                    return skipped(Skip::CloseBelowMinimum);
                }
                held.follower_open -= part;
                if held.follower_open.is_zero() || closes_all {
                    self.positions.remove(position);
                }
                Outcome::Close {
                    position: *position,
                    volume: part,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sizing::tests::{d, fx};

    fn figures() -> Figures {
        Figures {
            provider_volume: Decimal::ZERO,
            provider_balance: d("10000"),
            provider_equity: d("10000"),
            follower_balance: d("2500"),
            follower_equity: d("2500"),
        }
    }

    fn open(deal: u64, position: u64, volume: &str) -> ProviderDeal {
        ProviderDeal::Open {
            deal,
            position,
            symbol: "EURUSD".into(),
            side: Side::Buy,
            volume: d(volume),
        }
    }

    fn close(deal: u64, position: u64, volume: &str) -> ProviderDeal {
        ProviderDeal::Close {
            deal,
            position,
            volume: d(volume),
        }
    }

    #[test]
    fn a_partial_close_closes_the_same_part_and_a_replay_nothing() {
        let mut f = Follower::new(Sizing::Balance);
        let opened = f.follow(&open(1, 10, "2.00"), &figures(), &fx());
        assert!(matches!(opened, Outcome::Open { volume, .. } if volume == d("0.5")));
        assert_eq!(
            f.follow(&open(1, 10, "2.00"), &figures(), &fx()),
            Outcome::Replayed
        );
        // The provider closes 0.6 of 2: the follower 0.15 of 0.5.
        assert_eq!(
            f.follow(&close(2, 10, "0.6"), &figures(), &fx()),
            Outcome::Close {
                position: 10,
                volume: d("0.15")
            }
        );
        // Then the rest: the follower's rest.
        assert_eq!(
            f.follow(&close(3, 10, "1.4"), &figures(), &fx()),
            Outcome::Close {
                position: 10,
                volume: d("0.35")
            }
        );
        assert!(f.positions.is_empty());
    }

    #[test]
    fn what_is_not_copied_says_why() {
        let mut f = Follower::new(Sizing::Balance);
        // 0.02 × 0.25 = 0.005: under the minimum; its close finds nothing held.
        assert_eq!(
            f.follow(&open(1, 10, "0.02"), &figures(), &fx()),
            Outcome::Skipped {
                reason: Skip::Size(SizeNote::BelowMinimumVolume)
            }
        );
        assert_eq!(
            f.follow(&close(2, 10, "0.02"), &figures(), &fx()),
            Outcome::Skipped {
                reason: Skip::NotHeld
            }
        );
        // A tiny partial close waits; paused opens nothing but still closes.
        f.follow(&open(3, 11, "1.00"), &figures(), &fx());
        assert_eq!(
            f.follow(&close(4, 11, "0.01"), &figures(), &fx()),
            Outcome::Skipped {
                reason: Skip::CloseBelowMinimum
            }
        );
        f.paused = true;
        assert_eq!(
            f.follow(&open(5, 12, "1.00"), &figures(), &fx()),
            Outcome::Skipped {
                reason: Skip::Paused
            }
        );
        assert_eq!(
            f.follow(&close(6, 11, "0.99"), &figures(), &fx()),
            Outcome::Close {
                position: 11,
                volume: d("0.25")
            }
        );
    }
}
