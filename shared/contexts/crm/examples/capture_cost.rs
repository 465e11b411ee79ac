//! CPU floor of lead capture without any I/O: the E.164 parse alone, then parsing and validating
//! a whole `POST /leads` body. Compared in docs/PERFORMANCE.md with the per-request server CPU of
//! the trivial route, to show what the throughput ratio target asks for.
//!   cargo run --release -p brokeros-crm --example capture_cost
use std::hint::black_box;
use std::time::Instant;

use brokeros_crm::model::LeadSubmission;
use brokeros_kernel::Brands;
use brokeros_kernel::normalize;

const ROUNDS: u32 = 200_000;

fn per_call_micros(mut call: impl FnMut(u32)) -> f64 {
    for i in 0..ROUNDS / 10 {
        call(i);
    }
    let started = Instant::now();
    for i in 0..ROUNDS {
        call(i);
    }
    started.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS)
}

fn main() {
    let brands = Brands::embedded_default();
    let phone = per_call_micros(|i| {
        let raw = format!("+447911{:06}", i % 1_000_000);
        black_box(normalize::phone_e164("phone", &raw, "GB").expect("valid phone"));
    });
    let submission = per_call_micros(|i| {
        let body = format!(
            r#"{{"first_name":"Bench","last_name":"Load","email":"bench-{i}@example.com","phone":"+447911{:06}","country":"GB","language":"en","utm_source":"google","utm_medium":"cpc","marketing_consent":true}}"#,
            i % 1_000_000
        );
        let parsed: LeadSubmission = serde_json::from_str(&body).expect("valid body");
        black_box(
            parsed
                .validate(&brands, time::OffsetDateTime::now_utc())
                .expect("valid submission"),
        );
    });
    println!("E.164 parse of one phone:          {phone:.2} µs");
    println!("parse + validate a POST /leads body: {submission:.2} µs");
}
