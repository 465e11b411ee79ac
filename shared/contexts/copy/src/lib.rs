//! Broker OS copy trading context: followers' accounts mirror a strategy provider's deals,
//! each sized by the subscription's mode and fitted to the symbol. The pure model is in
//! [`model`].

pub mod model;
