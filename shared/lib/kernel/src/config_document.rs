//! The broker's configuration document as embedded in the build: the default that `brokeros
//! serve`, the demo and the tests run with. Each context reads and validates its own section;
//! the host's composition (`brokeros-app`) reads the whole document.

use serde::de::DeserializeOwned;

use crate::Brands;

pub const DEFAULT_CONFIG_JSON: &str = include_str!("../config/default.json");

/// The section `name` of the embedded default document.
pub fn default_section<T: DeserializeOwned>(name: &str) -> T {
    static DOCUMENT: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
        serde_json::from_str(DEFAULT_CONFIG_JSON).expect("the embedded configuration is JSON")
    });
    serde_json::from_value(DOCUMENT[name].clone())
        .unwrap_or_else(|e| panic!("the embedded configuration's '{name}' is valid: {e}"))
}

impl Brands {
    /// The brands of the embedded default document.
    pub fn embedded_default() -> Brands {
        Brands {
            names: default_section("brands"),
            default: default_section("default_brand"),
        }
    }
}
