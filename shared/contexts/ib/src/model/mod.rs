//! The pure model of the IB context: the partner tree over time, commission plans, the
//! commission engine that turns deals into explained accruals, and statements. No I/O.

pub mod fx;
pub mod timeline;
pub mod tree;

pub use fx::{FxRate, RateSource};
pub use timeline::{Dated, Millis, Timeline};
pub use tree::{Chain, ClientNode, Hierarchy, IbNode, Link, Standing};

/// Named sets of symbols a plan's rules may name instead of single symbols (`majors`,
/// `metals`), from the IB section of the broker's configuration.
pub type SymbolGroups = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;
