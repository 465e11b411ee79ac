//! Routing's repository: the only code of routing that builds its store items, keys and
//! indexes. The versioned rules ([`rules`]) and the providers' health and counters
//! ([`stats`]); their audited items are read and committed through the kernel's generic
//! repository (`Core::find`, `get`, `commit`).

pub(crate) mod rules;
pub(crate) mod stats;
