//! The rules document compiled for fast decisions: countries, currencies, methods and risk
//! levels become small integers and bit sets, and the rules are pre-indexed by (method,
//! currency) so that a decision looks only at the rules that can match.

use rust_decimal::Decimal;

use super::routing::document::{RoutingDocument, RuleAction};
use super::{PaymentMethod, RiskLevel};
use brokeros_kernel::money::{CURRENCIES, Currency};

/// 26 × 26 possible two-letter codes.
const COUNTRY_SLOTS: usize = 26 * 26;
const COUNTRY_WORDS: usize = COUNTRY_SLOTS.div_ceil(64);

/// A country code's slot, if it is two upper-case ASCII letters.
pub(crate) fn country_slot(code: &str) -> Option<usize> {
    match code.as_bytes() {
        [a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => {
            Some(usize::from(a - b'A') * 26 + usize::from(b - b'A'))
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CountrySet([u64; COUNTRY_WORDS]);

impl CountrySet {
    pub(crate) fn new<'a>(codes: impl IntoIterator<Item = &'a String>) -> CountrySet {
        let mut set = CountrySet([0; COUNTRY_WORDS]);
        for slot in codes.into_iter().filter_map(|c| country_slot(c)) {
            set.0[slot / 64] |= 1 << (slot % 64);
        }
        set
    }

    pub(crate) fn contains(&self, slot: usize) -> bool {
        self.0[slot / 64] & (1 << (slot % 64)) != 0
    }

    fn intersects(&self, other: &CountrySet) -> bool {
        self.0.iter().zip(&other.0).any(|(a, b)| a & b != 0)
    }
}

/// `[from, below)` in one currency; `None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interval {
    pub(crate) from: Option<Decimal>,
    pub(crate) below: Option<Decimal>,
}

impl Interval {
    const ANY: Interval = Interval {
        from: None,
        below: None,
    };

    pub(crate) fn contains(&self, amount: Decimal) -> bool {
        self.from.is_none_or(|f| amount >= f) && self.below.is_none_or(|b| amount < b)
    }

    fn intersects(&self, other: &Interval) -> bool {
        let from = match (self.from, other.from) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let below = match (self.below, other.below) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (from, below) {
            (Some(f), Some(b)) => f < b,
            _ => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CompiledAction {
    /// Providers not in the set are excluded.
    AllowOnly(Vec<bool>),
    Exclude(Vec<u16>),
    Prefer(Vec<u16>),
    Pin(u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompiledRule {
    /// `None`: any country.
    pub(crate) countries: Option<Box<CountrySet>>,
    pub(crate) methods: u8,
    pub(crate) risks: u8,
    /// `None`: any currency, any amount; otherwise the currencies it matches (by id), each
    /// with its amount interval.
    pub(crate) currencies: Option<Vec<(u16, Interval)>>,
    pub(crate) action: CompiledAction,
}

impl CompiledRule {
    pub(crate) fn matches(
        &self,
        country: Option<usize>,
        risk: RiskLevel,
        currency: u16,
        amount: Decimal,
    ) -> bool {
        if self.risks & risk.bit() == 0 {
            return false;
        }
        if let Some(set) = &self.countries {
            match country {
                Some(slot) if set.contains(slot) => {}
                _ => return false,
            }
        }
        match &self.currencies {
            None => true,
            Some(list) => list
                .iter()
                .any(|(id, interval)| *id == currency && interval.contains(amount)),
        }
    }

    /// Whether some deposit could match both rules.
    pub(crate) fn overlaps(&self, other: &CompiledRule) -> bool {
        if self.methods & other.methods == 0 || self.risks & other.risks == 0 {
            return false;
        }
        if let (Some(a), Some(b)) = (&self.countries, &other.countries)
            && !a.intersects(b)
        {
            return false;
        }
        match (&self.currencies, &other.currencies) {
            (Some(a), Some(b)) => a
                .iter()
                .any(|(ca, ia)| b.iter().any(|(cb, ib)| ca == cb && ia.intersects(ib))),
            _ => true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompiledLimits {
    pub(crate) min_amount: Decimal,
    pub(crate) max_amount: Decimal,
    pub(crate) daily_cap: Option<Decimal>,
    pub(crate) fixed_fee: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CompiledProvider {
    pub(crate) methods: u8,
    /// `None`: every country not blocked.
    pub(crate) allowed: Option<Box<CountrySet>>,
    pub(crate) blocked: Option<Box<CountrySet>>,
    pub(crate) risks: u8,
    /// By currency id.
    pub(crate) limits: Vec<Option<CompiledLimits>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Compiled {
    pub(crate) providers: Vec<CompiledProvider>,
    pub(crate) rules: Vec<CompiledRule>,
    /// Rule indexes (ascending) per (method, currency id).
    buckets: Vec<Vec<u32>>,
}

/// A currency's id: its place in the currency table.
pub(crate) fn currency_id(currency: Currency) -> u16 {
    CURRENCIES
        .iter()
        .position(|c| c.code == currency.code)
        .expect("every Currency is in the table") as u16
}

fn currency_id_of(code: &str) -> Option<u16> {
    Currency::from_code(code).map(currency_id)
}

fn mask<T: Copy>(items: impl IntoIterator<Item = T>, bit: impl Fn(T) -> u8) -> u8 {
    items.into_iter().fold(0, |m, i| m | bit(i))
}

impl Compiled {
    /// Compiles a document that passed validation (every reference resolves).
    pub(crate) fn new(doc: &RoutingDocument) -> Compiled {
        let provider_id = |id: &String| -> u16 {
            doc.providers
                .iter()
                .position(|p| &p.id == id)
                .expect("validated: rules name known providers") as u16
        };
        let group_countries = |groups: &std::collections::BTreeSet<String>| {
            groups
                .iter()
                .filter_map(|g| doc.country_groups.get(g))
                .flatten()
                .cloned()
                .collect::<Vec<String>>()
        };

        let providers = doc
            .providers
            .iter()
            .map(|p| {
                let mut allowed_codes = group_countries(&p.allowed_country_groups);
                allowed_codes.extend(p.allowed_countries.iter().cloned());
                let mut limits = vec![None; CURRENCIES.len()];
                for (code, l) in &p.currencies {
                    if let Some(id) = currency_id_of(code) {
                        limits[usize::from(id)] = Some(CompiledLimits {
                            min_amount: l.min_amount,
                            max_amount: l.max_amount,
                            daily_cap: l.daily_cap,
                            fixed_fee: l.fixed_fee,
                        });
                    }
                }
                CompiledProvider {
                    methods: mask(p.methods.iter().copied(), PaymentMethod::bit),
                    allowed: (!allowed_codes.is_empty())
                        .then(|| Box::new(CountrySet::new(&allowed_codes))),
                    blocked: (!p.blocked_countries.is_empty())
                        .then(|| Box::new(CountrySet::new(&p.blocked_countries))),
                    risks: mask(p.risk_levels.iter().copied(), RiskLevel::bit),
                    limits,
                }
            })
            .collect();

        let rules: Vec<CompiledRule> = doc
            .rules
            .iter()
            .map(|r| {
                let w = &r.when;
                let countries = if w.countries.is_none() && w.country_groups.is_none() {
                    None
                } else {
                    let mut codes = w
                        .country_groups
                        .as_ref()
                        .map(&group_countries)
                        .unwrap_or_default();
                    codes.extend(w.countries.iter().flatten().cloned());
                    Some(Box::new(CountrySet::new(&codes)))
                };
                let currencies = match (&w.amount, &w.currencies) {
                    (Some(amounts), _) => Some(
                        amounts
                            .iter()
                            .filter_map(|(code, b)| {
                                Some((
                                    currency_id_of(code)?,
                                    Interval {
                                        from: b.from,
                                        below: b.below,
                                    },
                                ))
                            })
                            .collect(),
                    ),
                    (None, Some(codes)) => Some(
                        codes
                            .iter()
                            .filter_map(|code| Some((currency_id_of(code)?, Interval::ANY)))
                            .collect(),
                    ),
                    (None, None) => None,
                };
                let action = match &r.action {
                    RuleAction::AllowOnly(ids) => {
                        let mut allowed = vec![false; doc.providers.len()];
                        for id in ids {
                            allowed[usize::from(provider_id(id))] = true;
                        }
                        CompiledAction::AllowOnly(allowed)
                    }
                    RuleAction::Exclude(ids) => {
                        CompiledAction::Exclude(ids.iter().map(provider_id).collect())
                    }
                    RuleAction::Prefer(ids) => {
                        CompiledAction::Prefer(ids.iter().map(provider_id).collect())
                    }
                    RuleAction::Pin(id) => CompiledAction::Pin(provider_id(id)),
                };
                CompiledRule {
                    countries,
                    methods: w
                        .methods
                        .as_ref()
                        .map_or(u8::MAX, |m| mask(m.iter().copied(), PaymentMethod::bit)),
                    risks: w
                        .risk_levels
                        .as_ref()
                        .map_or(u8::MAX, |r| mask(r.iter().copied(), RiskLevel::bit)),
                    currencies,
                    action,
                }
            })
            .collect();

        let slots = CURRENCIES.len();
        let mut buckets = vec![Vec::new(); PaymentMethod::ALL.len() * slots];
        for (i, rule) in rules.iter().enumerate() {
            for method in PaymentMethod::ALL {
                if rule.methods & method.bit() == 0 {
                    continue;
                }
                let base = method.index() * slots;
                match &rule.currencies {
                    None => (0..slots).for_each(|s| buckets[base + s].push(i as u32)),
                    Some(list) => list
                        .iter()
                        .for_each(|(id, _)| buckets[base + usize::from(*id)].push(i as u32)),
                }
            }
        }
        Compiled {
            providers,
            rules,
            buckets,
        }
    }

    /// The rules that may match a deposit by this method in this currency, in document order.
    pub(crate) fn candidates(&self, method: PaymentMethod, currency: u16) -> &[u32] {
        &self.buckets[method.index() * CURRENCIES.len() + usize::from(currency)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_slots_cover_exactly_two_upper_case_letters() {
        assert_eq!(country_slot("AA"), Some(0));
        assert_eq!(country_slot("ZZ"), Some(COUNTRY_SLOTS - 1));
        for bad in ["", "A", "de", "DEU", "D1", "ÄA"] {
            assert_eq!(country_slot(bad), None, "{bad}");
        }
        let set = CountrySet::new(&["DE".to_string(), "FR".to_string()]);
        assert!(set.contains(country_slot("DE").unwrap()));
        assert!(!set.contains(country_slot("GB").unwrap()));
    }

    #[test]
    fn intervals_are_half_open_and_intersect_only_when_they_share_an_amount() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let low = Interval {
            from: None,
            below: Some(d("5000")),
        };
        let high = Interval {
            from: Some(d("5000")),
            below: None,
        };
        assert!(low.contains(d("4999.99")) && !low.contains(d("5000")));
        assert!(high.contains(d("5000")));
        assert!(!low.intersects(&high));
        let middle = Interval {
            from: Some(d("4000")),
            below: Some(d("6000")),
        };
        assert!(low.intersects(&middle) && high.intersects(&middle));
        assert!(Interval::ANY.intersects(&low));
    }
}
