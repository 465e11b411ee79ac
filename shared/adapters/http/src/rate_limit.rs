//! `serve`'s per-source limiter of the public routes (lead capture, consent confirmation,
//! provider webhooks, published contests): a token bucket per client address. In AWS, API Gateway throttles these
//! routes (the template's route settings); `serve` has no gateway in front, so it limits them
//! itself.
//!
//! **Source.** The connection's peer address; `X-Forwarded-For` only when `serve` runs behind a
//! proxy the operator trusts (`--trust-forwarded-for`), and then its last entry, the one that
//! proxy appended (entries before it are whatever the client sent). An IPv6 source counts by
//! its /64 prefix: one host usually holds a whole /64.
//!
//! **Memory.** At most `max_sources` buckets are kept. When a new source arrives at the cap,
//! buckets that have refilled (sources idle long enough to be like new) are dropped first; if
//! that frees nothing, the least recently seen half is dropped, so a flood from many addresses
//! costs bounded memory and, amortized, little time per request.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::Duration;

use axum::http::HeaderMap;
use tokio::time::Instant;

/// Whether `method path` is one of the routes anyone may call (lead capture, consent
/// confirmation, provider webhooks: the routes of `lead_capture` and `webhooks` in
/// `routes.rs`; the published contests of `contest_routes.rs`; the API's contract): the routes `serve` limits per
/// source and API Gateway throttles per route (infra/template.yaml; `tests/infra` checks the
/// two agree).
pub fn is_public_route(method: &axum::http::Method, path: &str) -> bool {
    if method == axum::http::Method::GET {
        // `GET /contests`, `GET /contests/{id}` and `GET /contests/{id}/leaderboard`;
        // `/contests/mine` is the caller's own. `GET /openapi.json`: the API's contract.
        let public_contest = |id: &str| !id.is_empty() && !id.contains('/') && id != "mine";
        return path == "/openapi.json"
            || path == "/contests"
            || path.strip_prefix("/contests/").is_some_and(|rest| {
                public_contest(rest)
                    || rest
                        .strip_suffix("/leaderboard")
                        .is_some_and(public_contest)
            });
    }
    method == axum::http::Method::POST
        && (path == "/leads" || path == "/leads/consent/confirm" || path.starts_with("/webhooks/"))
}

/// How the public routes are limited per source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitOptions {
    /// Requests a source may send at once (the bucket's size); 0 turns the limiter off.
    pub burst: u32,
    /// Requests per minute a source regains (the bucket's refill).
    pub per_minute: u32,
    /// Sources tracked at once.
    pub max_sources: usize,
    /// Whether the source is `X-Forwarded-For`'s last entry (behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

impl Default for RateLimitOptions {
    fn default() -> Self {
        RateLimitOptions {
            burst: 20,
            per_minute: 60,
            max_sources: 10_000,
            trust_forwarded_for: false,
        }
    }
}

impl RateLimitOptions {
    pub fn is_off(&self) -> bool {
        self.burst == 0
    }
}

/// What the limiter says of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Refused; a token is back after this long.
    Limited {
        retry_after: Duration,
    },
}

/// A bucket's content in units of a token's 1/60,000: a source regains `per_minute` units per
/// millisecond, so the arithmetic stays in integers.
const UNITS_PER_TOKEN: u64 = 60_000;

struct Bucket {
    units: u64,
    updated: Instant,
}

/// Token buckets per source (see the module's documentation). The clock is the caller's, so a
/// test drives it.
pub struct SourceLimiter {
    options: RateLimitOptions,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl SourceLimiter {
    pub fn new(options: RateLimitOptions) -> SourceLimiter {
        SourceLimiter {
            options,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Units regained per millisecond (see [`UNITS_PER_TOKEN`]).
    fn rate(&self) -> u64 {
        u64::from(self.options.per_minute.max(1))
    }

    /// A full bucket, in units.
    fn capacity(&self) -> u64 {
        u64::from(self.options.burst) * UNITS_PER_TOKEN
    }

    /// What `bucket` holds at `now`, refilled since it was last updated.
    fn refilled(&self, bucket: &Bucket, now: Instant) -> u64 {
        let elapsed_ms = u64::try_from(now.saturating_duration_since(bucket.updated).as_millis())
            .unwrap_or(u64::MAX);
        bucket
            .units
            .saturating_add(elapsed_ms.saturating_mul(self.rate()))
            .min(self.capacity())
    }

    /// Takes a token of `source` at `now`, or says how long until one is back.
    pub fn check(&self, source: IpAddr, now: Instant) -> Decision {
        if self.options.is_off() {
            return Decision::Allowed;
        }
        let source = counted_as(source);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(&source) && buckets.len() >= self.options.max_sources.max(1) {
            self.make_room(&mut buckets, now);
        }
        let bucket = buckets.entry(source).or_insert(Bucket {
            units: self.capacity(),
            updated: now,
        });
        bucket.units = self.refilled(bucket, now);
        bucket.updated = now;
        if bucket.units >= UNITS_PER_TOKEN {
            bucket.units -= UNITS_PER_TOKEN;
            Decision::Allowed
        } else {
            let wait_ms = (UNITS_PER_TOKEN - bucket.units).div_ceil(self.rate());
            Decision::Limited {
                retry_after: Duration::from_millis(wait_ms),
            }
        }
    }

    /// Sources tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn make_room(&self, buckets: &mut HashMap<IpAddr, Bucket>, now: Instant) {
        let capacity = self.capacity();
        buckets.retain(|_, b| self.refilled(b, now) < capacity);
        if buckets.len() >= self.options.max_sources.max(1) {
            let mut seen: Vec<Instant> = buckets.values().map(|b| b.updated).collect();
            seen.sort_unstable();
            let cutoff = seen[seen.len() / 2];
            buckets.retain(|_, b| b.updated > cutoff);
        }
    }
}

/// The address a source is counted by: IPv4 as is, IPv6 by its /64 (an IPv4-mapped IPv6
/// address as its IPv4).
fn counted_as(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The source of a request from `peer`: `X-Forwarded-For`'s last entry when trusted and
/// readable, the peer otherwise.
pub fn source_of(peer: IpAddr, headers: &HeaderMap, trust_forwarded_for: bool) -> IpAddr {
    if !trust_forwarded_for {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse().ok())
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, per_minute: u32, max_sources: usize) -> SourceLimiter {
        SourceLimiter::new(RateLimitOptions {
            burst,
            per_minute,
            max_sources,
            trust_forwarded_for: false,
        })
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_public_routes_are_lead_capture_webhooks_and_published_contests() {
        use axum::http::Method;
        for (method, path) in [
            (Method::POST, "/leads"),
            (Method::POST, "/leads/consent/confirm"),
            (Method::POST, "/webhooks/psp/simcard"),
            (Method::GET, "/contests"),
            (Method::GET, "/contests/summer-cup"),
            (Method::GET, "/contests/{id}"),
            (Method::GET, "/contests/summer-cup/leaderboard"),
        ] {
            assert!(is_public_route(&method, path), "{method} {path}");
        }
        for (method, path) in [
            (Method::GET, "/leads"),
            (Method::POST, "/contests"),
            (Method::GET, "/contests/mine"),
            (Method::GET, "/contests/summer-cup/entries"),
            (Method::GET, "/contests/"),
            (Method::POST, "/contests/summer-cup/entries"),
            (Method::GET, "/contests/summer-cup/flags"),
            (Method::GET, "/contests/mine/leaderboard"),
        ] {
            assert!(!is_public_route(&method, path), "{method} {path}");
        }
    }

    #[test]
    fn a_source_gets_its_burst_then_waits_for_the_refill() {
        let limiter = limiter(3, 60, 100);
        let start = Instant::now();
        let a = ip("203.0.113.7");
        for _ in 0..3 {
            assert_eq!(limiter.check(a, start), Decision::Allowed);
        }
        let Decision::Limited { retry_after } = limiter.check(a, start) else {
            panic!("the fourth request at once passed");
        };
        assert_eq!(
            retry_after,
            Duration::from_secs(1),
            "60 a minute: one a second"
        );
        // Another source has its own bucket.
        assert_eq!(limiter.check(ip("203.0.113.8"), start), Decision::Allowed);
        // One token back after a second, not two.
        let later = start + Duration::from_secs(1);
        assert_eq!(limiter.check(a, later), Decision::Allowed);
        assert!(matches!(limiter.check(a, later), Decision::Limited { .. }));
        // A long pause refills to the burst, never beyond.
        let much_later = later + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(limiter.check(a, much_later), Decision::Allowed);
        }
        assert!(matches!(
            limiter.check(a, much_later),
            Decision::Limited { .. }
        ));
    }

    #[test]
    fn ipv6_sources_count_by_their_64_prefix() {
        let limiter = limiter(1, 60, 100);
        let now = Instant::now();
        assert_eq!(limiter.check(ip("2001:db8:1:2::1"), now), Decision::Allowed);
        assert!(matches!(
            limiter.check(ip("2001:db8:1:2::ffff"), now),
            Decision::Limited { .. }
        ));
        assert_eq!(limiter.check(ip("2001:db8:1:3::1"), now), Decision::Allowed);
    }

    #[test]
    fn tracked_sources_stay_under_the_cap() {
        let limiter = limiter(2, 60, 100);
        let mut now = Instant::now();
        for n in 0..10_000u32 {
            now += Duration::from_millis(1);
            let source = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000u32 + n));
            assert_eq!(limiter.check(source, now), Decision::Allowed);
            assert!(limiter.tracked() <= 100);
        }
        // A source seen a moment ago keeps its spent bucket when others are dropped.
        let recent = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000u32 + 9_999));
        assert_eq!(limiter.check(recent, now), Decision::Allowed);
        assert!(matches!(
            limiter.check(recent, now),
            Decision::Limited { .. }
        ));
    }

    #[test]
    fn the_limiter_can_be_turned_off() {
        let limiter = limiter(0, 60, 100);
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(limiter.check(ip("198.51.100.1"), now), Decision::Allowed);
        }
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy_and_only_its_last_entry() {
        let peer = ip("10.0.0.5");
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "1.2.3.4, 198.51.100.9".parse().unwrap());
        assert_eq!(source_of(peer, &headers, false), peer);
        assert_eq!(source_of(peer, &headers, true), ip("198.51.100.9"));
        headers.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(source_of(peer, &headers, true), peer);
    }
}
