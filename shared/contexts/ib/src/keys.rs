//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): applications, IBs, invitations, clients' and leads' referral
//! records, and the keyed markers decisions rest on (a referral code's IB, a portal user's IB).

use brokeros_store::Key;

pub use brokeros_kernel::keys::*;

pub fn application(id: &str) -> Key {
    Key::new(format!("IBAPP#{id}"), "APPLICATION")
}

pub fn applications_by_status(status: &str) -> String {
    format!("IBAPPS#{status}")
}

pub fn ib(id: &str) -> Key {
    Key::new(format!("IB#{id}"), "IB")
}

/// Every IB, by creation time (the partner managers' list).
pub const ALL_IBS: &str = "IBS";

/// The IBs whose current parent is `parent` (`None`: the master IBs).
pub fn ibs_under(parent: Option<&str>) -> String {
    format!("IBCHILDREN#{}", parent.unwrap_or("-"))
}

pub fn invitation(id: &str) -> Key {
    Key::new(format!("IBINVITE#{id}"), "INVITATION")
}

pub fn invitations_of(ib_id: &str) -> String {
    format!("IBINVITES#{ib_id}")
}

/// A client's attribution (its referral touches and IB over time).
pub fn client_attribution(client_id: &str) -> Key {
    Key::new(format!("IBCLIENT#{client_id}"), "ATTRIBUTION")
}

/// The clients whose current IB is `ib_id`.
pub fn clients_of(ib_id: &str) -> String {
    format!("IBCLIENTS#{ib_id}")
}

/// The referral codes seen on a lead's captures.
pub fn lead_referrals(lead_id: &str) -> Key {
    Key::new(format!("IBLEAD#{lead_id}"), "REFERRALS")
}

/// A referral code's IB (codes compared in upper case): unique across IBs.
pub fn referral_code(code: &str) -> Key {
    Key::new(format!("UNIQ#IBCODE#{}", code.to_uppercase()), "UNIQ")
}

/// The IB a portal user signs in as.
pub fn ib_user(user_id: &str) -> Key {
    Key::new(format!("UNIQ#IBUSER#{user_id}"), "UNIQ")
}
