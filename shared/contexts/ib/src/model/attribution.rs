//! Which IB a client is attributed to: from the referral codes seen on the client's way in
//! (each capture of their lead, their registration), under the broker's policy — the first
//! code that named an IB, or the last one within a window before the client registered.
//! A partner manager's assignment overrides both (it is a move, effective-dated).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::timeline::{Millis, Timeline};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TouchSource {
    /// A capture of the client's lead.
    Lead,
    /// The client's registration.
    Registration,
}

/// A referral code seen at `at_msc`, and the IB it named then (`None`: no IB has that code;
/// the code is kept so it can be explained and chased).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReferralTouch {
    pub code: String,
    pub at_msc: Millis,
    pub source: TouchSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ib_id: Option<String>,
}

/// The referral codes seen on one lead's captures, recorded whether or not they name an IB:
/// the lead is captured all the same, and the touches attribute the client it becomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeadReferrals {
    /// The lead's id.
    pub id: String,
    pub touches: Vec<ReferralTouch>,
}

/// The attribution policy of the configuration (`ib.attribution`):
/// `{"policy": "first_touch"}` or `{"policy": "last_touch", "window_days": N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
#[serde(try_from = "PolicyFile")]
pub enum AttributionPolicy {
    /// The earliest touch whose code named an IB.
    FirstTouch,
    /// The latest touch whose code named an IB, no older than `window_days` at registration.
    LastTouch { window_days: u32 },
}

/// The written form, read strictly: a window only with last touch, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    policy: PolicyName,
    window_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum PolicyName {
    FirstTouch,
    LastTouch,
}

impl TryFrom<PolicyFile> for AttributionPolicy {
    type Error = String;

    fn try_from(file: PolicyFile) -> Result<AttributionPolicy, String> {
        match (file.policy, file.window_days) {
            (PolicyName::FirstTouch, None) => Ok(AttributionPolicy::FirstTouch),
            (PolicyName::LastTouch, Some(window_days)) => {
                Ok(AttributionPolicy::LastTouch { window_days })
            }
            (PolicyName::FirstTouch, Some(_)) => {
                Err("first_touch takes no window_days".to_string())
            }
            (PolicyName::LastTouch, None) => Err("last_touch needs window_days".to_string()),
        }
    }
}

const DAY_MS: Millis = 86_400_000;

impl AttributionPolicy {
    /// The touch that attributes a client registered at `registered_msc`, if any.
    pub fn decide<'a>(
        &self,
        touches: &'a [ReferralTouch],
        registered_msc: Millis,
    ) -> Option<&'a ReferralTouch> {
        let known = touches
            .iter()
            .filter(|t| t.ib_id.is_some() && t.at_msc <= registered_msc);
        match *self {
            AttributionPolicy::FirstTouch => known.min_by_key(|t| t.at_msc),
            AttributionPolicy::LastTouch { window_days } => {
                let oldest = registered_msc - Millis::from(window_days) * DAY_MS;
                known
                    .filter(|t| t.at_msc >= oldest)
                    .max_by_key(|t| t.at_msc)
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            AttributionPolicy::FirstTouch => "first_touch",
            AttributionPolicy::LastTouch { .. } => "last_touch",
        }
    }
}

/// How a client came to its IB: by the policy over its touches, or a partner manager's
/// assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttributedBy {
    FirstTouch,
    LastTouch,
    Assignment,
    /// No touch named an IB.
    None,
}

/// A client as the IB context keeps it: the codes seen, and its IB over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientAttribution {
    /// The client's id.
    pub id: String,
    pub touches: Vec<ReferralTouch>,
    pub ib: Timeline<Option<String>>,
    pub attributed_by: AttributedBy,
}

impl ClientAttribution {
    /// The attribution `policy` gives a client registered at `registered_msc` with `touches`.
    pub fn decided(
        client_id: &str,
        touches: Vec<ReferralTouch>,
        policy: AttributionPolicy,
        registered_msc: Millis,
    ) -> ClientAttribution {
        let chosen = policy
            .decide(&touches, registered_msc)
            .and_then(|t| t.ib_id.clone());
        let attributed_by = match (&chosen, policy) {
            (None, _) => AttributedBy::None,
            (Some(_), AttributionPolicy::FirstTouch) => AttributedBy::FirstTouch,
            (Some(_), AttributionPolicy::LastTouch { .. }) => AttributedBy::LastTouch,
        };
        ClientAttribution {
            id: client_id.to_string(),
            touches,
            ib: Timeline::starting(registered_msc, chosen),
            attributed_by,
        }
    }

    /// The IB in force after every recorded change.
    pub fn current_ib(&self) -> Option<&str> {
        self.ib.latest().and_then(Option::as_deref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn touch(code: &str, at: Millis, ib: Option<&str>) -> ReferralTouch {
        ReferralTouch {
            code: code.into(),
            at_msc: at,
            source: TouchSource::Lead,
            ib_id: ib.map(String::from),
        }
    }

    #[test]
    fn first_touch_takes_the_earliest_known_code_and_last_touch_the_latest_in_the_window() {
        let touches = vec![
            touch("UNKNOWN", 0, None),
            touch("A", 10 * DAY_MS, Some("ib_a")),
            touch("B", 40 * DAY_MS, Some("ib_b")),
            touch("NOPE", 41 * DAY_MS, None),
        ];
        let registered = 45 * DAY_MS;
        let first = AttributionPolicy::FirstTouch;
        assert_eq!(first.decide(&touches, registered).unwrap().code, "A");
        let last = AttributionPolicy::LastTouch { window_days: 30 };
        assert_eq!(last.decide(&touches, registered).unwrap().code, "B");
        // B is 5 days old at registration: a 4-day window leaves nothing.
        let short = AttributionPolicy::LastTouch { window_days: 4 };
        assert!(short.decide(&touches, registered).is_none());
        let attribution = ClientAttribution::decided("c", touches.clone(), short, registered);
        assert_eq!(attribution.attributed_by, AttributedBy::None);
        assert_eq!(attribution.current_ib(), None);
        assert_eq!(attribution.touches.len(), 4, "unknown codes are kept");
        let attribution = ClientAttribution::decided("c", touches, last, registered);
        assert_eq!(attribution.current_ib(), Some("ib_b"));
        assert_eq!(attribution.ib.at(registered - 1), None);
    }

    proptest! {
        /// Whatever the touches, the chosen one named an IB, was seen before registration and
        /// (last touch) within the window; no other such touch is earlier (first) or later
        /// (last).
        #[test]
        fn the_chosen_touch_is_the_extreme_eligible_one(
            raw in proptest::collection::vec((0i64..100, proptest::option::of(0u8..3)), 0..12),
            window in 0u32..60,
        ) {
            let registered = 80 * DAY_MS;
            let touches: Vec<ReferralTouch> = raw
                .iter()
                .map(|(day, ib)| touch("C", day * DAY_MS, ib.map(|i| format!("ib_{i}")).as_deref()))
                .collect();
            let oldest = registered - Millis::from(window) * DAY_MS;
            let eligible = |t: &&ReferralTouch, windowed: bool| {
                t.ib_id.is_some() && t.at_msc <= registered && (!windowed || t.at_msc >= oldest)
            };
            let first = AttributionPolicy::FirstTouch.decide(&touches, registered);
            let expected_first = touches.iter().filter(|t| eligible(t, false)).map(|t| t.at_msc).min();
            prop_assert_eq!(first.map(|t| t.at_msc), expected_first);
            let last = AttributionPolicy::LastTouch { window_days: window }.decide(&touches, registered);
            let expected_last = touches.iter().filter(|t| eligible(t, true)).map(|t| t.at_msc).max();
            prop_assert_eq!(last.map(|t| t.at_msc), expected_last);
            if let Some(t) = last {
                prop_assert!(t.ib_id.is_some());
            }
        }
    }
}
