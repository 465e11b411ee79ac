//! The copy trading context on both storage engines: strategies proposed by their provider and
//! governed by admins; subscriptions in every sizing mode, changed, paused, resumed and ended
//! with the refund of the unused fee; a provider's open, partial close and close copied to
//! followers through the copy queue with the volumes their modes give, skips with their
//! reasons, replays that place nothing twice; and the requests the rules refuse, with nothing
//! written.

mod api;
mod common;
mod copying;
mod lifecycle;

use api::*;
use brokeros_tests::app as harness;
use copying::*;
use lifecycle::*;

brokeros_tests::scenarios! {
    a_strategy_is_proposed_approved_suspended_and_reinstated => new,
    subscriptions_change_pause_resume_and_end_with_a_pro_rata_refund => new,
    requests_the_rules_refuse_write_nothing => new,
    someone_elses_strategy_or_subscription_is_not_found => new,
    a_providers_open_partial_close_and_close_are_copied_by_mode => new,
    every_provider_deal_yields_one_outcome_per_follower_however_often_it_is_delivered => new,
    a_follower_past_their_maximum_loss_is_detached => new,
    the_api_serves_each_role_its_own_and_refuses_the_rest => new,
    a_suspended_strategy_copies_no_open_but_still_its_closes => new,
    a_reversal_closes_the_followers_copy => new,
}
