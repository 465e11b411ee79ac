//! The PAMM context on both storage engines: offers proposed by their manager (or an admin for
//! them) over an account the manager holds, approved by another person, suspended and
//! reinstated with a reason, each change audited; and proposals the rules refuse, with nothing
//! written.

mod cycle;
mod http;
mod ib_share;
mod offers;
mod workflow;

use brokeros_tests::app as harness;
use cycle::*;
use http::*;
use ib_share::*;
use offers::*;
use workflow::*;

brokeros_tests::scenarios! {
    an_offer_is_proposed_approved_suspended_and_reinstated_with_audit_events => new,
    offers_the_rules_refuse_write_nothing => new,
    a_pamm_cycle_charges_a_fee_only_above_the_investors_high_water_mark => clocked,
    requests_the_rules_refuse_write_nothing => clocked,
    many_investors_with_several_requests_settle_in_one_rollover => clocked,
    pamm_over_http_enforces_roles_and_shows_each_investor_their_own => clocked,
    the_schedule_starts_each_due_rollover_once_on_the_workflow => clocked,
    an_investors_fees_are_shared_with_their_ib_chain => clocked,
}
