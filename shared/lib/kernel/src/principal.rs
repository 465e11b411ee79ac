//! Who is acting, derived from token claims, and what each role may do.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Error, Result};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Client,
    Ib,
    Sales,
    Compliance,
    Finance,
    /// Partner managers: IB applications, the IB tree, moves, attribution.
    Partners,
    /// Marketing: trading contests (definitions, enrolments, disqualifications).
    Marketing,
    Admin,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Client,
        Role::Ib,
        Role::Sales,
        Role::Compliance,
        Role::Finance,
        Role::Partners,
        Role::Marketing,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Ib => "ib",
            Role::Sales => "sales",
            Role::Compliance => "compliance",
            Role::Finance => "finance",
            Role::Partners => "partners",
            Role::Marketing => "marketing",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Error::invalid("unknown_role", "role", format!("unknown role '{s}'")))
    }
}

/// An authenticated caller: the token subject and the roles its groups grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub sub: String,
    pub roles: BTreeSet<Role>,
}

pub const GROUPS_CLAIM: &str = "cognito:groups";

impl Principal {
    /// The one claims-to-principal mapping, for claims verified by API Gateway's JWT authorizer
    /// (where every claim arrives as a string and `cognito:groups` looks like `[admin sales]`) and
    /// for claims of a token verified locally (where `cognito:groups` is a JSON array).
    /// Groups that are not Broker OS roles are ignored; a caller with no role is refused.
    pub fn from_claims(claims: &HashMap<String, Value>) -> Result<Principal> {
        let sub = match claims.get("sub") {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 128 => s.clone(),
            _ => return Err(Error::unauthenticated("token has no usable 'sub' claim")),
        };
        let groups: Vec<String> = match claims.get(GROUPS_CLAIM) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => s
                .trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split([' ', ','])
                .filter(|g| !g.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let roles: BTreeSet<Role> = groups.iter().filter_map(|g| g.parse().ok()).collect();
        if roles.is_empty() {
            return Err(Error::forbidden("token grants no Broker OS role"));
        }
        Ok(Principal { sub, roles })
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    /// Refuses unless the principal holds one of `roles`.
    pub fn require_any(&self, roles: &[Role], action: &str) -> Result<()> {
        if self.has_any(roles) {
            Ok(())
        } else {
            Err(Error::forbidden(format!("your role may not {action}")))
        }
    }

    /// The role recorded in audit events: the most privileged one held.
    pub fn primary_role(&self) -> Role {
        *self
            .roles
            .iter()
            .next_back()
            .expect("a principal has at least one role")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> HashMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn groups_as_json_array_from_a_verified_token() {
        let p = Principal::from_claims(&claims(
            json!({"sub":"u-1","cognito:groups":["sales","other"]}),
        ))
        .unwrap();
        assert_eq!(p.sub, "u-1");
        assert_eq!(p.roles, BTreeSet::from([Role::Sales]));
    }

    #[test]
    fn groups_as_api_gateway_string() {
        let p = Principal::from_claims(&claims(
            json!({"sub":"u-2","cognito:groups":"[admin sales]"}),
        ))
        .unwrap();
        assert_eq!(p.roles, BTreeSet::from([Role::Sales, Role::Admin]));
        assert_eq!(p.primary_role(), Role::Admin);
    }

    #[test]
    fn every_role_is_read_from_its_group_name() {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "client",
                "ib",
                "sales",
                "compliance",
                "finance",
                "partners",
                "marketing",
                "admin"
            ]
        );
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        let p =
            Principal::from_claims(&claims(json!({"sub":"m-1","cognito:groups":"[marketing]"})))
                .unwrap();
        assert_eq!(p.roles, BTreeSet::from([Role::Marketing]));
    }

    #[test]
    fn no_sub_or_no_role_is_refused() {
        assert!(matches!(
            Principal::from_claims(&claims(json!({"cognito:groups":["admin"]}))).unwrap_err(),
            crate::Error::Unauthenticated { .. }
        ));
        assert!(matches!(
            Principal::from_claims(&claims(json!({"sub":"u","cognito:groups":["root"]})))
                .unwrap_err(),
            crate::Error::Forbidden { .. }
        ));
    }
}
