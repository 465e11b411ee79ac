//! What the copy trading use cases need: the kernel's core, the trading platform (follower
//! orders, symbols' volume limits, accounts' figures, the deal history the reader follows) and
//! the queue of copy messages. Clients and their accounts are read through the onboarding
//! context over the same core.

use std::sync::Arc;

use brokeros_kernel::Core;
use brokeros_trading::TradingPlatform;

use crate::queue::CopyQueue;

#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub trading: Arc<dyn TradingPlatform>,
    pub queue: Arc<dyn CopyQueue>,
}

brokeros_kernel::services_over_core!(Services);
