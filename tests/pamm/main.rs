//! The PAMM context on both storage engines: offers proposed by their manager (or an admin for
//! them) over an account the manager holds, approved by another person, suspended and
//! reinstated with a reason, each change audited; and proposals the rules refuse, with nothing
//! written.

mod offers;

use brokeros_tests::app as harness;
use offers::*;

brokeros_tests::scenarios! {
    an_offer_is_proposed_approved_suspended_and_reinstated_with_audit_events => new,
    offers_the_rules_refuse_write_nothing => new,
}
