//! The partner tree as it stood at any moment: IBs under their parents (master → sub-IBs, any
//! depth), each IB's standing and plans, clients under the IB they are attributed to, and the
//! trading accounts of each client. Every relation is a [`Timeline`], so the chain that earns
//! from a deal is the one in force at the deal's time: a move takes effect for deals after it
//! and never makes one deal pay two chains.
//!
//! A [`Hierarchy`] may hold the whole tree (the what-if preview reads one from a file) or only
//! the part a batch of deals touches (the live path loads the clients, their IBs and those IBs'
//! ancestors); the rules are the same.

use std::collections::{BTreeSet, HashMap};
use utoipa::ToSchema;

use brokeros_kernel::{Error, Result};
use serde::{Deserialize, Serialize};

use super::timeline::{Millis, Timeline};

/// Whether an IB earns. A suspended IB accrues nothing for deals made while suspended, a
/// terminated one nothing for deals after its termination; both keep what they earned before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Active,
    Suspended,
    Terminated,
}

/// One IB as the tree needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IbNode {
    pub id: String,
    /// The currency the IB is paid in (a code of the kernel's currency table).
    pub currency: String,
    /// The IB above it; `None` for a master IB.
    pub parent: Timeline<Option<String>>,
    pub standing: Timeline<Standing>,
    /// The ids of the commission plans its agreement assigns.
    pub plans: Timeline<Vec<String>>,
}

impl IbNode {
    /// Every IB that is or was or will be this one's parent.
    pub fn parents_ever(&self) -> impl Iterator<Item = &str> {
        self.parent
            .entries()
            .iter()
            .filter_map(|d| d.value.as_deref())
    }

    /// Earns for deals at `at`: active then.
    pub fn earns_at(&self, at: Millis) -> bool {
        self.standing.at(at) == Some(&Standing::Active)
    }
}

/// A client, the IB it is attributed to over time, and its trading accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientNode {
    pub id: String,
    /// `None` while the client has no IB.
    pub ib: Timeline<Option<String>>,
    /// The client's trading accounts the computation needs (a live batch: those of its deals).
    pub logins: Vec<u64>,
}

/// One IB of the chain that earns from a deal: level 0 is the client's own IB, level 1 its
/// parent, and so on up to the master.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    pub level: u32,
    pub ib: &'a IbNode,
}

/// The deepest chain followed: far beyond any real tree (issue 12 tests 150 levels), it stops a
/// walk over data that was never checked.
pub const MAX_DEPTH: u32 = 10_000;

/// The tree, or the part of it a computation needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HierarchyFile", into = "HierarchyFile")]
pub struct Hierarchy {
    ibs: HashMap<String, IbNode>,
    clients: HashMap<String, ClientNode>,
    client_of_login: HashMap<u64, String>,
}

/// The serialized form: lists, in id order, checked when read.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HierarchyFile {
    #[serde(default)]
    ibs: Vec<IbNode>,
    #[serde(default)]
    clients: Vec<ClientNode>,
}

impl TryFrom<HierarchyFile> for Hierarchy {
    type Error = Error;

    fn try_from(file: HierarchyFile) -> Result<Hierarchy> {
        let mut tree = Hierarchy::default();
        for ib in file.ibs {
            tree.insert_ib(ib)?;
        }
        for client in file.clients {
            tree.insert_client(client)?;
        }
        tree.validate()?;
        Ok(tree)
    }
}

impl From<Hierarchy> for HierarchyFile {
    fn from(tree: Hierarchy) -> HierarchyFile {
        let mut ibs: Vec<IbNode> = tree.ibs.into_values().collect();
        ibs.sort_by(|a, b| a.id.cmp(&b.id));
        let mut clients: Vec<ClientNode> = tree.clients.into_values().collect();
        clients.sort_by(|a, b| a.id.cmp(&b.id));
        HierarchyFile { ibs, clients }
    }
}

impl Hierarchy {
    /// Reads the file form (`{"ibs": [...], "clients": [...]}`) and checks it, keeping the
    /// check's error code and field (`tree_cycle`, `ibs.parent`) that serde's own error would
    /// flatten into a message.
    pub fn from_json(text: &str) -> Result<Hierarchy> {
        let mut de = serde_json::Deserializer::from_str(text);
        let file: HierarchyFile = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| Error::from_serde("invalid_tree", e))?;
        Hierarchy::try_from(file)
    }

    /// Adds an IB; an id already present is refused.
    pub fn insert_ib(&mut self, ib: IbNode) -> Result<()> {
        if self.ibs.contains_key(&ib.id) {
            return Err(Error::invalid(
                "duplicate_ib",
                "ibs",
                format!("IB {} appears twice", ib.id),
            ));
        }
        self.ibs.insert(ib.id.clone(), ib);
        Ok(())
    }

    /// Adds a client and its accounts; a client id or login already present is refused.
    pub fn insert_client(&mut self, client: ClientNode) -> Result<()> {
        if self.clients.contains_key(&client.id) {
            return Err(Error::invalid(
                "duplicate_client",
                "clients",
                format!("client {} appears twice", client.id),
            ));
        }
        for login in &client.logins {
            if let Some(other) = self.client_of_login.get(login) {
                return Err(Error::invalid(
                    "duplicate_login",
                    "clients",
                    format!(
                        "login {login} belongs to client {other} and to {}",
                        client.id
                    ),
                ));
            }
        }
        for login in &client.logins {
            self.client_of_login.insert(*login, client.id.clone());
        }
        self.clients.insert(client.id.clone(), client);
        Ok(())
    }

    pub fn ib(&self, id: &str) -> Option<&IbNode> {
        self.ibs.get(id)
    }

    pub fn client(&self, id: &str) -> Option<&ClientNode> {
        self.clients.get(id)
    }

    pub fn client_of_login(&self, login: u64) -> Option<&ClientNode> {
        self.client_of_login
            .get(&login)
            .and_then(|id| self.clients.get(id))
    }

    pub fn ibs(&self) -> impl Iterator<Item = &IbNode> {
        self.ibs.values()
    }

    pub fn clients(&self) -> impl Iterator<Item = &ClientNode> {
        self.clients.values()
    }

    /// The IB a client was attributed to at `at`.
    pub fn ib_of_client_at(&self, client: &ClientNode, at: Millis) -> Option<&IbNode> {
        client
            .ib
            .at(at)
            .and_then(Option::as_deref)
            .and_then(|id| self.ibs.get(id))
    }

    /// The chain that earns from a deal of `login` at `at`, from the client's IB (level 0) up
    /// to its master, whatever each IB's standing (the plan decides what a suspended one gets:
    /// nothing). Empty when the login belongs to no client of the tree or the client had no IB.
    pub fn chain_at(&self, login: u64, at: Millis) -> Chain<'_> {
        let first = self
            .client_of_login(login)
            .and_then(|client| self.ib_of_client_at(client, at));
        self.chain_from(first, at)
    }

    /// The chain from `ib` (level 0) up to its master at `at`.
    pub fn chain_from<'a>(&'a self, ib: Option<&'a IbNode>, at: Millis) -> Chain<'a> {
        Chain {
            tree: self,
            next: ib,
            level: 0,
            at,
        }
    }

    /// Refuses a move of `ib` under `new_parent` from `at` on that would put it under itself:
    /// at `at` or at any later change of the tree, `ib` would be an ancestor of its new parent.
    /// `new_parent`'s ancestors over all time must be in the tree ([`IbNode::parents_ever`]).
    pub fn check_move(&self, ib: &str, new_parent: Option<&str>, at: Millis) -> Result<()> {
        let Some(new_parent) = new_parent else {
            return Ok(());
        };
        if new_parent == ib {
            return Err(move_cycle(ib, new_parent));
        }
        let mut times: BTreeSet<Millis> = BTreeSet::from([at]);
        for node in self.ibs.values() {
            times.extend(node.parent.changes_from(at));
        }
        for t in times {
            let start = self.ibs.get(new_parent);
            if self.chain_from(start, t).any(|link| link.ib.id == ib) {
                return Err(move_cycle(ib, new_parent));
            }
        }
        Ok(())
    }

    /// Checks a whole tree: every parent, client IB and plan reference names an IB of the
    /// tree, and no IB is ever its own ancestor.
    pub fn validate(&self) -> Result<()> {
        for node in self.ibs.values() {
            for parent in node.parents_ever() {
                if !self.ibs.contains_key(parent) {
                    return Err(Error::invalid(
                        "unknown_ib",
                        "ibs.parent",
                        format!("IB {} names an unknown parent {parent}", node.id),
                    ));
                }
            }
        }
        for client in self.clients.values() {
            for ib in client
                .ib
                .entries()
                .iter()
                .filter_map(|d| d.value.as_deref())
            {
                if !self.ibs.contains_key(ib) {
                    return Err(Error::invalid(
                        "unknown_ib",
                        "clients.ib",
                        format!("client {} names an unknown IB {ib}", client.id),
                    ));
                }
            }
        }
        // A cycle can only close when an edge changes, and then through the changed edge.
        for node in self.ibs.values() {
            for change in node.parent.entries() {
                let Some(parent) = change.value.as_deref() else {
                    continue;
                };
                let mut walked = 0usize;
                for link in self.chain_from(self.ibs.get(parent), change.from_msc) {
                    walked += 1;
                    if link.ib.id == node.id || walked > self.ibs.len() {
                        return Err(Error::invalid(
                            "tree_cycle",
                            "ibs.parent",
                            format!(
                                "IB {} is its own ancestor from {} ms on",
                                node.id, change.from_msc
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

fn move_cycle(ib: &str, new_parent: &str) -> Error {
    Error::conflict(
        "move_creates_cycle",
        format!("IB {ib} cannot move under {new_parent}, which is in its own subtree"),
    )
}

/// The IBs above a deal, walked lazily from level 0 up.
pub struct Chain<'a> {
    tree: &'a Hierarchy,
    next: Option<&'a IbNode>,
    level: u32,
    at: Millis,
}

impl<'a> Iterator for Chain<'a> {
    type Item = Link<'a>;

    fn next(&mut self) -> Option<Link<'a>> {
        let ib = self.next.take()?;
        if self.level >= MAX_DEPTH {
            return None;
        }
        let link = Link {
            level: self.level,
            ib,
        };
        self.level += 1;
        self.next = ib
            .parent
            .at(self.at)
            .and_then(Option::as_deref)
            .and_then(|id| self.tree.ibs.get(id));
        Some(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ib(id: &str, parent: Option<&str>) -> IbNode {
        IbNode {
            id: id.into(),
            currency: "USD".into(),
            parent: Timeline::starting(0, parent.map(String::from)),
            standing: Timeline::starting(0, Standing::Active),
            plans: Timeline::starting(0, vec!["plan".into()]),
        }
    }

    fn client(id: &str, ib: &str, logins: &[u64]) -> ClientNode {
        ClientNode {
            id: id.into(),
            ib: Timeline::starting(0, Some(ib.into())),
            logins: logins.to_vec(),
        }
    }

    fn ids(chain: Chain<'_>) -> Vec<String> {
        chain.map(|l| l.ib.id.clone()).collect()
    }

    /// ib_0 is the master; ib_{n} is under ib_{n-1}.
    fn line(depth: usize) -> Hierarchy {
        let mut tree = Hierarchy::default();
        for n in 0..depth {
            let parent = (n > 0).then(|| format!("ib_{}", n - 1));
            tree.insert_ib(ib(&format!("ib_{n}"), parent.as_deref()))
                .unwrap();
        }
        tree
    }

    #[test]
    fn a_deal_pays_the_chain_in_force_at_its_time() {
        let mut tree = line(3);
        tree.insert_ib(ib("other", None)).unwrap();
        let mut c = client("c1", "ib_2", &[1001]);
        c.ib.change("ib", 500, Some("other".into())).unwrap();
        tree.insert_client(c).unwrap();
        assert_eq!(ids(tree.chain_at(1001, 499)), ["ib_2", "ib_1", "ib_0"]);
        assert_eq!(ids(tree.chain_at(1001, 500)), ["other"]);
        assert_eq!(ids(tree.chain_at(9999, 500)), Vec::<String>::new());
        let levels: Vec<u32> = tree.chain_at(1001, 1).map(|l| l.level).collect();
        assert_eq!(levels, [0, 1, 2]);
    }

    #[test]
    fn a_moved_ib_takes_its_subtree_from_the_move_on() {
        let mut tree = line(3);
        tree.insert_ib(ib("new_master", None)).unwrap();
        tree.insert_client(client("c1", "ib_2", &[7])).unwrap();
        tree.check_move("ib_1", Some("new_master"), 1000).unwrap();
        let mut moved = tree.ibs.remove("ib_1").unwrap();
        moved
            .parent
            .change("parent", 1000, Some("new_master".into()))
            .unwrap();
        tree.insert_ib(moved).unwrap();
        assert_eq!(ids(tree.chain_at(7, 999)), ["ib_2", "ib_1", "ib_0"]);
        assert_eq!(ids(tree.chain_at(7, 1000)), ["ib_2", "ib_1", "new_master"]);
    }

    #[test]
    fn an_ib_cannot_move_under_its_own_descendant() {
        let tree = line(150);
        assert_eq!(
            tree.check_move("ib_0", Some("ib_149"), 10)
                .unwrap_err()
                .code(),
            "move_creates_cycle"
        );
        assert!(tree.check_move("ib_3", Some("ib_3"), 10).is_err());
        assert!(tree.check_move("ib_149", Some("ib_0"), 10).is_ok());
        assert_eq!(tree.chain_at(0, 0).count(), 0);
        let deepest = tree.chain_from(tree.ib("ib_149"), 5).count();
        assert_eq!(deepest, 150);
    }

    #[test]
    fn a_later_change_that_would_close_a_cycle_is_found() {
        // b moves under a at 100; moving a under b from 50 on is fine at 50 but a cycle at 100.
        let mut tree = Hierarchy::default();
        tree.insert_ib(ib("a", None)).unwrap();
        let mut b = ib("b", None);
        b.parent.change("parent", 100, Some("a".into())).unwrap();
        tree.insert_ib(b).unwrap();
        assert!(tree.check_move("a", Some("b"), 50).is_err());
        assert!(tree.check_move("b", Some("a"), 200).is_ok());
    }

    #[test]
    fn a_tree_file_is_checked_when_read() {
        let good = r#"{"ibs":[
            {"id":"m","currency":"USD","parent":[{"from_msc":0,"value":null}],
             "standing":[{"from_msc":0,"value":"active"}],"plans":[{"from_msc":0,"value":["p"]}]},
            {"id":"s","currency":"EUR","parent":[{"from_msc":0,"value":"m"}],
             "standing":[{"from_msc":0,"value":"active"},{"from_msc":9,"value":"suspended"}],
             "plans":[{"from_msc":0,"value":["p"]}]}],
          "clients":[{"id":"c","ib":[{"from_msc":0,"value":"s"}],"logins":[5]}]}"#;
        let tree: Hierarchy = serde_json::from_str(good).unwrap();
        assert_eq!(ids(tree.chain_at(5, 10)), ["s", "m"]);
        assert!(tree.ib("s").unwrap().earns_at(8));
        assert!(!tree.ib("s").unwrap().earns_at(9));
        let again: Hierarchy =
            serde_json::from_str(&serde_json::to_string(&tree).unwrap()).unwrap();
        assert_eq!(again, tree);

        let cycle = good.replace(r#""value":null"#, r#""value":"s""#);
        let err = serde_json::from_str::<Hierarchy>(&cycle).unwrap_err();
        assert!(err.to_string().contains("own ancestor"), "{err}");
        let err = Hierarchy::from_json(&cycle).unwrap_err().body();
        assert_eq!(
            (err.code.as_str(), err.field.as_deref()),
            ("tree_cycle", Some("ibs.parent"))
        );
        assert_eq!(Hierarchy::from_json(good).unwrap(), tree);
        let unknown = good.replace(r#""value":"m""#, r#""value":"nobody""#);
        assert!(serde_json::from_str::<Hierarchy>(&unknown).is_err());
        let twice = good.replace(
            r#""logins":[5]"#,
            r#""logins":[5]},{"id":"d","ib":[],"logins":[5]"#,
        );
        assert!(serde_json::from_str::<Hierarchy>(&twice).is_err());
    }
}
