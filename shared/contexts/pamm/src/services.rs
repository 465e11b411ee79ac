//! What the PAMM use cases need: the kernel's core (the manager's client record and trading
//! accounts are read through the onboarding context, wallets moved through the ledger, over
//! the same core), the trading platform that holds the pooled account, and the IB context,
//! which says whose IBs share an investor's fees.

use std::sync::Arc;

use brokeros_kernel::Core;
use brokeros_trading::TradingPlatform;

#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub trading: Arc<dyn TradingPlatform>,
    pub ib: brokeros_ib::Services,
}

brokeros_kernel::services_over_core!(Services);
