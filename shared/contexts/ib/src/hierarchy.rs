//! The part of the tree a batch of deals needs, read by key only (consistent on both engines,
//! so a decision may rest on it): the deals' logins → their clients (the onboarding context's
//! login markers) → each client's attribution (as recorded, or as the recorded facts give it)
//! → those IBs and every IB that is, was or will be above them.

use std::collections::{BTreeSet, HashMap, HashSet};

use brokeros_kernel::{Core, Error, Result};
use brokeros_onboarding::model::Client;

use crate::model::{ClientAttribution, ClientNode, Hierarchy, Ib};
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
    let mut attributions: HashMap<String, ClientAttribution> =
        repo::by_ids::<ClientAttribution>(services, &client_ids)
            .await?
            .into_iter()
            .map(|a| (a.entity.id.clone(), a.entity))
            .collect();
    // A client whose attribution was never recorded: derived from its recorded facts.
    let unattributed: Vec<String> = client_ids
        .iter()
        .filter(|id| !attributions.contains_key(*id))
        .cloned()
        .collect();
    for client in repo::by_ids::<Client>(services, &unattributed).await? {
        let derived = attribution::derive(services, &services.config, &client.entity).await?;
        attributions.insert(client.entity.id.clone(), derived);
    }
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
