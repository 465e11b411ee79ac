//! The part of the tree a batch of deals needs, read by key only (consistent on both engines,
//! so a decision may rest on it): the deals' logins → their clients (the onboarding context's
//! login markers) → each client's attribution (as recorded, or as the recorded facts give it)
//! → those IBs and every IB that is, was or will be above them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use brokeros_kernel::{Core, Error, Result};
use brokeros_onboarding::model::Client;

use crate::model::{ClientAttribution, ClientNode, Hierarchy, Ib, Standing};
use crate::{Services, attribution, repo};

/// The tree the deals of `logins` are computed over: each of their clients with the logins
/// asked for (the client's other accounts are not read). A login no client is known by is left
/// out (its deals have no chain).
pub async fn load_hierarchy(services: &Services, logins: &[u64]) -> Result<Hierarchy> {
    let owners = brokeros_onboarding::clients_of_logins(services, logins).await?;
    let client_ids: Vec<String> = owners
        .iter()
        .map(|(_, c)| c.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut attributions = attributions_of(services, &client_ids).await?;
    let mut tree = ibs_of(services, &attributions).await?;
    for id in client_ids {
        let Some(a) = attributions.remove(&id) else {
            continue;
        };
        let logins = owners
            .iter()
            .filter(|(_, owner)| *owner == id)
            .map(|(login, _)| *login)
            .collect();
        tree.insert_client(ClientNode {
            id,
            ib: a.ib,
            logins,
        })?;
    }
    Ok(tree)
}

/// Each client's attribution: as recorded, or, never recorded (the process stopped in
/// between), as its recorded facts give it.
async fn attributions_of(
    services: &Services,
    client_ids: &[String],
) -> Result<HashMap<String, ClientAttribution>> {
    let mut attributions: HashMap<String, ClientAttribution> =
        repo::by_ids::<ClientAttribution>(services, client_ids)
            .await?
            .into_iter()
            .map(|a| (a.entity.id.clone(), a.entity))
            .collect();
    let unattributed: Vec<String> = client_ids
        .iter()
        .filter(|id| !attributions.contains_key(*id))
        .cloned()
        .collect();
    for client in repo::by_ids::<Client>(services, &unattributed).await? {
        let derived = attribution::derive(services, &services.config, &client.entity).await?;
        attributions.insert(client.entity.id.clone(), derived);
    }
    Ok(attributions)
}

/// A tree of every IB the attributions name at any time, with every IB above them.
async fn ibs_of(
    services: &Services,
    attributions: &HashMap<String, ClientAttribution>,
) -> Result<Hierarchy> {
    let mut tree = Hierarchy::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut ibs: Vec<String> = Vec::new();
    for a in attributions.values() {
        for d in a.ib.entries() {
            if let Some(ib) = &d.value
                && seen.insert(ib.clone())
            {
                ibs.push(ib.clone());
            }
        }
    }
    add_with_ancestors(services, &mut tree, &mut seen, ibs).await?;
    Ok(tree)
}

/// Each client's IB chain at `at` (what shares a fee the client paid, e.g. a PAMM fee): their
/// IB, the one above it, and so on up to the master, active IBs only (a suspended or
/// terminated one's share stays with whoever the fee is paid to). Clients without an IB then
/// have an empty chain.
pub async fn chains_of_clients(
    services: &Services,
    client_ids: &[String],
    at: time::OffsetDateTime,
) -> Result<BTreeMap<String, Vec<String>>> {
    let attributions = attributions_of(services, client_ids).await?;
    let mut tree = ibs_of(services, &attributions).await?;
    for (id, attribution) in attributions {
        tree.insert_client(ClientNode {
            id,
            ib: attribution.ib,
            logins: Vec::new(),
        })?;
    }
    let at = crate::millis(at);
    Ok(client_ids
        .iter()
        .map(|id| {
            let first = tree.client(id).and_then(|c| tree.ib_of_client_at(c, at));
            let chain = tree
                .chain_from(first, at)
                .filter(|link| link.ib.standing.at(at) == Some(&Standing::Active))
                .map(|link| link.ib.id.clone())
                .collect();
            (id.clone(), chain)
        })
        .collect())
}

/// Adds the IBs `ids` to `tree` with every IB that is, was or will be above them, read by key
/// level by level (what a chain at any time, or a move's cycle check, walks). `seen` holds the
/// ids already in the tree or in `ids`; an IB named but not stored is an error.
pub(crate) async fn add_with_ancestors(
    core: &Core,
    tree: &mut Hierarchy,
    seen: &mut HashSet<String>,
    ids: Vec<String>,
) -> Result<()> {
    seen.extend(ids.iter().cloned());
    let mut frontier = ids;
    while !frontier.is_empty() {
        let found = repo::by_ids::<Ib>(core, &frontier).await?;
        if found.len() != frontier.len() {
            let stored: HashSet<&str> = found.iter().map(|f| f.entity.node.id.as_str()).collect();
            let missing = frontier.iter().find(|id| !stored.contains(id.as_str()));
            return Err(Error::NotFound {
                entity: "IB",
                id: missing.cloned().unwrap_or_default(),
            });
        }
        frontier = Vec::new();
        for ib in found {
            for parent in ib.entity.node.parents_ever() {
                if seen.insert(parent.to_string()) {
                    frontier.push(parent.to_string());
                }
            }
            tree.insert_ib(ib.entity.node)?;
        }
    }
    Ok(())
}
