//! The PAMM repository: the only code of the context that builds its store items, keys,
//! indexes and queries. Offers are audited entities.

use brokeros_kernel::changeset::Entity;
use brokeros_store::{Index, Key};

use crate::keys;
use crate::model::Offer;

impl Entity for Offer {
    const TYPE: &'static str = "pamm_offer";
    const NOUN: &'static str = "PAMM offer";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::offer(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let created = keys::by_time(self.created_at, &self.id);
        vec![
            (
                Index::Gsi1,
                keys::offers_in_status(self.status.as_str()),
                created.clone(),
            ),
            (
                Index::Gsi2,
                keys::offers_of_manager(&self.manager_client_id),
                created,
            ),
        ]
    }
}
