//! The brands a broker runs: the contexts that take a brand (leads, client registration) check
//! a request's brand against the same list.

use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brands {
    pub names: Vec<String>,
    pub default: String,
}

impl Brands {
    /// The brand a request names, or the default one.
    pub fn brand(&self, requested: Option<&str>) -> Result<String> {
        match requested {
            None => Ok(self.default.clone()),
            Some(b) if self.names.iter().any(|x| x == b) => Ok(b.to_string()),
            Some(_) => Err(Error::invalid(
                "unknown_brand",
                "brand",
                "brand is not one of this broker's brands",
            )),
        }
    }
}
