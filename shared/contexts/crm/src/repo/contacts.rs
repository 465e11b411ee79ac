//! The dedupe keys that make one lead per email and phone in a brand: each names the lead that
//! owns the contact.

use brokeros_kernel::Core;
use brokeros_kernel::Result;
use brokeros_kernel::changeset::{Changeset, store_error};
use brokeros_store::{Item, Key, Table};
use serde::{Deserialize, Serialize};

use super::put_over;
use crate::keys;

/// The value of a dedupe key: which lead owns an email or a phone.
#[derive(Serialize, Deserialize)]
struct Owner {
    lead_id: String,
}

/// The dedupe keys of a submission's email and phone (either may be missing) in its brand.
pub(crate) struct ContactKeys {
    email: Option<Key>,
    phone: Option<Key>,
}

/// The leads that own a submission's email and phone, if any.
pub(crate) struct ContactOwners {
    pub(crate) email: Option<String>,
    pub(crate) phone: Option<String>,
}

impl ContactKeys {
    pub(crate) fn of(brand: &str, email: Option<&str>, phone: Option<&str>) -> ContactKeys {
        ContactKeys {
            email: email.map(|e| keys::unique_email(brand, e)),
            phone: phone.map(|p| keys::unique_phone(brand, p)),
        }
    }

    /// Who owns the email and the phone, read together.
    pub(crate) async fn owners(&self, core: &Core) -> Result<ContactOwners> {
        let lookups: Vec<Key> = self
            .email
            .iter()
            .chain(self.phone.iter())
            .cloned()
            .collect();
        let found = core
            .store
            .get_many(Table::Main, &lookups)
            .await
            .map_err(store_error)?;
        Ok(ContactOwners {
            email: if self.email.is_some() {
                owner(&found[0])
            } else {
                None
            },
            phone: if self.phone.is_some() {
                owner(&found[found.len() - 1])
            } else {
                None
            },
        })
    }

    /// Stages the claim of the email for `lead_id` (nothing when there is no email), refused
    /// if another lead claimed it first.
    pub(crate) fn claim_email(&self, lead_id: &str, changes: &mut Changeset) {
        claim(&self.email, lead_id, changes);
    }

    /// Stages the claim of the phone for `lead_id` (nothing when there is no phone), refused
    /// if another lead claimed it first.
    pub(crate) fn claim_phone(&self, lead_id: &str, changes: &mut Changeset) {
        claim(&self.phone, lead_id, changes);
    }
}

fn owner(item: &Option<Item>) -> Option<String> {
    item.as_ref()
        .and_then(|i| serde_json::from_str::<Owner>(&i.data).ok())
        .map(|o| o.lead_id)
}

fn claim(key: &Option<Key>, lead_id: &str, changes: &mut Changeset) {
    if let Some(key) = key {
        let owner = Owner {
            lead_id: lead_id.to_string(),
        };
        let data = serde_json::to_string(&owner).expect("dedupe owners serialize");
        changes.put(put_over(key.clone(), None, data));
    }
}
