//! The CRM's repository: the only code of the context that builds its store items, keys and
//! indexes. Leads are audited entities, read and committed through the kernel's generic
//! repository (`Core::get`, `find`, `commit`); here are where they are stored and how they are
//! listed ([`leads`]), the dedupe keys that make one lead per email and phone in a brand
//! ([`contacts`]), a lead's follow-up tasks ([`tasks`]) and the round-robin counters of the
//! assignment pools ([`counters`]), and the consent confirmations with their outbox
//! ([`consent`]).

mod consent;
mod contacts;
mod counters;
mod leads;
mod tasks;

pub use consent::ConsentMessage;
pub(crate) use consent::{confirmation, confirmation_created, message_queued, queued_messages};
pub(crate) use contacts::ContactKeys;
pub(crate) use counters::AssignmentCounter;
pub(crate) use leads::{LeadSelection, count_in_status, leads_page, statuses_of, timeline_of_lead};
pub(crate) use tasks::{task_created, task_of_lead, tasks_of_lead};

use brokeros_store::{Condition, Item, Key, Table, WriteOp};

/// One page of a list and the cursor of the next one (none after the last page).
pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next: Option<String>,
}

/// The put of an unaudited item that was read at version `read` (`None`: it was absent),
/// refused if someone else wrote it since.
fn put_over(key: Key, read: Option<u64>, data: String) -> WriteOp {
    let (version, condition) = match read {
        Some(v) => (v + 1, Condition::VersionIs(v)),
        None => (1, Condition::NotExists),
    };
    WriteOp::Put {
        table: Table::Main,
        item: Item::new(key, version, data),
        condition,
    }
}
