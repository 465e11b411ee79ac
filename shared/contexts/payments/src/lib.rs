//! The payments context: deposit routing rules and the providers' statistics ([`routing`]),
//! provider webhooks, the event queue and payment gateway ports ([`psp`]), deposits with
//! their workflow tasks ([`deposits`]), and internal transfers between a client's wallet and
//! trading accounts ([`transfers`]), which move money as a deposit's funding does ([`funding`]). The pure rules are in [`model`].

pub mod config;
pub mod deposits;
pub mod funding;
pub mod keys;
pub mod model;
pub mod psp;
pub mod routing;
mod services;
pub mod transfers;

pub use services::{PaymentsSettings, Services};

/// The payment-provider events queue (SQS FIFO in AWS; a local queue in `brokeros serve`),
/// and where events that keep failing go after this many receives.
pub const PSP_EVENTS_QUEUE: &str = "psp-events";
pub const PSP_EVENTS_DEAD_LETTER_QUEUE: &str = "psp-events-dlq";
pub const PSP_EVENTS_MAX_RECEIVES: u32 = 5;
