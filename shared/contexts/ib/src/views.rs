//! Applications, IBs and invitations as the API shows them.

use serde_json::{Value, json};

use crate::Services;
use crate::model::{Application, Ib, Invitation};

/// An application as the API shows it.
pub fn application_view(application: &Application) -> Value {
    serde_json::to_value(application).expect("applications serialize")
}

/// An IB as the API shows it, with its standing now.
pub fn ib_view(ib: &Ib) -> Value {
    let mut v = serde_json::to_value(ib).expect("IBs serialize");
    v["current_standing"] = json!(crate::model::partner::standing_name(ib.current_standing()));
    v["current_parent"] = json!(ib.node.parent.latest().cloned().flatten());
    v
}

/// An invitation with the link the invitee applies through.
pub fn invitation_view(services: &Services, invitation: &Invitation) -> Value {
    let mut v = serde_json::to_value(invitation).expect("invitations serialize");
    let base = &services.config.referral_link_base;
    let separator = if base.contains('?') { '&' } else { '?' };
    v["link"] = json!(format!("{base}{separator}invitation={}", invitation.id));
    v
}
