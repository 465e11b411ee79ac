//! The composition of Broker OS: the configuration document, every context's services built
//! from one set of adapters, the workflow task functions by name, and the client's wallet view
//! that reads several contexts. Hosts (the Lambdas, `brokeros serve`) choose the adapters.

pub mod audit;
pub mod config;
pub mod copy_queue;
pub mod wallet;
pub mod workflow_tasks;

use std::sync::Arc;

use brokeros_kernel::workflow::Workflow;
use brokeros_kernel::{Clock, Core};
use brokeros_onboarding::kyc::KycProvider;
use brokeros_onboarding::kyc::model::ScreeningList;
use brokeros_payments::psp::{EventQueue, PaymentGateway, PaymentProviders};
use brokeros_trading::TradingPlatform;

use crate::config::BrokerConfig;

/// The adapters of the contexts' ports, chosen once per host.
#[derive(Clone)]
pub struct Ports {
    pub trading: Arc<dyn TradingPlatform>,
    pub kyc: Arc<dyn KycProvider>,
    pub screening: Arc<ScreeningList>,
    /// The payment providers whose webhooks are accepted, and the queue their events go to.
    pub psp: Arc<PaymentProviders>,
    pub psp_events: Arc<dyn EventQueue>,
    /// Asks payment providers to collect deposits and pay withdrawals out.
    pub gateway: Arc<dyn PaymentGateway>,
    /// Where copy trading fans provider deals out to followers (one message per follower).
    pub copy_orders: Arc<dyn EventQueue>,
}

/// Every context's services over one core and one set of ports, built once at start-up and
/// shared by all requests.
#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub config: Arc<BrokerConfig>,
    pub ports: Ports,
    pub approvals: brokeros_approvals::Services,
    pub crm: brokeros_crm::Services,
    pub onboarding: brokeros_onboarding::Services,
    pub payments: brokeros_payments::Services,
    pub withdrawals: brokeros_withdrawals::Services,
    pub ib: brokeros_ib::Services,
    pub contests: brokeros_contests::Services,
    pub pamm: brokeros_pamm::Services,
    pub copy: brokeros_copy::Services,
}

brokeros_kernel::services_over_core!(Services);

impl Services {
    /// Composes the contexts over `core` and `ports` under `config`.
    pub fn compose(core: Core, config: BrokerConfig, ports: Ports) -> Services {
        let approvals = brokeros_approvals::Services {
            core: core.clone(),
            config: Arc::new(brokeros_approvals::ApprovalsSettings {
                policies: config
                    .approval_policies()
                    .expect("a validated configuration makes valid approval policies"),
            }),
        };
        let crm = brokeros_crm::Services {
            core: core.clone(),
            config: Arc::new(brokeros_crm::CrmSettings {
                brands: config.brands(),
                lead_scoring: config.lead_scoring.clone(),
                lead_assignment: config.lead_assignment.clone(),
            }),
            rotation: Arc::new(brokeros_crm::rotation::Rotation::default()),
        };
        let onboarding = brokeros_onboarding::Services {
            core: core.clone(),
            config: Arc::new(brokeros_onboarding::OnboardingSettings {
                brands: config.brands(),
                default_account_manager: config.lead_assignment.default_agents[0].clone(),
                onboarding: config.onboarding.clone(),
            }),
            trading: ports.trading.clone(),
            kyc: ports.kyc.clone(),
            screening: ports.screening.clone(),
        };
        let payments = brokeros_payments::Services {
            core: core.clone(),
            config: Arc::new(brokeros_payments::PaymentsSettings {
                deposits: config.deposits.clone(),
            }),
            trading: ports.trading.clone(),
            psp: ports.psp.clone(),
            psp_events: ports.psp_events.clone(),
            gateway: ports.gateway.clone(),
        };
        let withdrawals = brokeros_withdrawals::Services {
            core: core.clone(),
            config: Arc::new(brokeros_withdrawals::WithdrawalsSettings {
                withdrawals: config.withdrawals.clone(),
            }),
            approvals: approvals.clone(),
            gateway: ports.gateway.clone(),
        };
        let ib = brokeros_ib::Services {
            core: core.clone(),
            config: Arc::new(config.ib.clone()),
            approvals: approvals.clone(),
        };
        let contests = brokeros_contests::Services {
            core: core.clone(),
            config: Arc::new(config.contests.clone()),
            trading: ports.trading.clone(),
            approvals: approvals.clone(),
        };
        let pamm = brokeros_pamm::Services {
            core: core.clone(),
            trading: ports.trading.clone(),
            ib: ib.clone(),
        };
        let copy = brokeros_copy::Services {
            core: core.clone(),
            trading: ports.trading.clone(),
            queue: Arc::new(copy_queue::CopyQueueOver(ports.copy_orders.clone())),
        };
        Services {
            core,
            config: Arc::new(config),
            ports,
            approvals,
            crm,
            onboarding,
            payments,
            withdrawals,
            ib,
            contests,
            pamm,
            copy,
        }
    }

    fn recompose(self, change: impl FnOnce(&mut Core, &mut Ports)) -> Services {
        let (mut core, mut ports) = (self.core, self.ports);
        change(&mut core, &mut ports);
        let config = Arc::unwrap_or_clone(self.config);
        Services::compose(core, config, ports)
    }

    pub fn with_psp_events(self, queue: Arc<dyn EventQueue>) -> Services {
        self.recompose(|_, ports| ports.psp_events = queue)
    }

    pub fn with_copy_orders(self, queue: Arc<dyn EventQueue>) -> Services {
        self.recompose(|_, ports| ports.copy_orders = queue)
    }

    pub fn with_gateway(self, gateway: Arc<dyn PaymentGateway>) -> Services {
        self.recompose(|_, ports| ports.gateway = gateway)
    }

    pub fn with_workflow(self, workflow: Arc<dyn Workflow>) -> Services {
        self.recompose(|core, _| core.workflow = Some(workflow))
    }

    pub fn with_trading(self, trading: Arc<dyn TradingPlatform>) -> Services {
        self.recompose(|_, ports| ports.trading = trading)
    }

    pub fn with_payment_providers(self, psp: Arc<PaymentProviders>) -> Services {
        self.recompose(|_, ports| ports.psp = psp)
    }

    pub fn with_kyc(self, kyc: Arc<dyn KycProvider>) -> Services {
        self.recompose(|_, ports| ports.kyc = kyc)
    }

    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Services {
        self.recompose(|core, _| core.clock = clock)
    }
}
