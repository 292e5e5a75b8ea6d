//! The escrow deployments a verifier trusts by default: `deployments/escrows.json`, committed to
//! the repository and compiled in, so that an auditor need not take the escrow's address from the
//! bundle it is checking (a forger would name its own look-alike contract there). `--escrow` or
//! another file overrides it.

use alloy::primitives::Address;
use serde::Deserialize;

use crate::num::dec;

/// The committed file, as built into this binary.
pub const BUILT_IN: &str = include_str!("../../../deployments/escrows.json");

/// The file's format tag.
pub const FORMAT: &str = "pactum-deployments/1";

/// A deployments file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployments {
    /// [`FORMAT`].
    pub format: String,
    /// One entry per chain.
    pub deployments: Vec<Deployment>,
}

/// One trusted escrow.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// Its chain.
    #[serde(with = "dec")]
    pub chain_id: u64,
    /// Its address.
    pub escrow: Address,
    /// The block it was deployed in (no escrow log is older).
    #[serde(with = "dec")]
    pub deployment_block: u64,
    /// For people.
    #[serde(default)]
    pub network: String,
}

/// A deployments file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Not JSON of the expected shape.
    #[error("not a deployments file: {0}")]
    Parse(#[from] serde_json::Error),
    /// Another format.
    #[error("deployments format {0:?}, expected {FORMAT}")]
    Format(String),
    /// Two entries for one chain.
    #[error("two escrows listed for chain {0}")]
    Duplicate(u64),
}

impl Deployments {
    /// Parses and checks a deployments file.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let d: Self = serde_json::from_str(text)?;
        if d.format != FORMAT {
            return Err(Error::Format(d.format));
        }
        for (i, a) in d.deployments.iter().enumerate() {
            if d.deployments[..i].iter().any(|b| b.chain_id == a.chain_id) {
                return Err(Error::Duplicate(a.chain_id));
            }
        }
        Ok(d)
    }

    /// The committed file.
    pub fn built_in() -> Result<Self, Error> {
        Self::parse(BUILT_IN)
    }

    /// The trusted escrow of a chain.
    pub fn for_chain(&self, chain_id: u64) -> Option<&Deployment> {
        self.deployments.iter().find(|d| d.chain_id == chain_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_file_parses_and_names_the_local_chain() {
        let d = Deployments::built_in().unwrap();
        let local = d.for_chain(31337).unwrap();
        assert_eq!(
            local.escrow,
            "0x5FbDB2315678afecb367f032d93F642f64180aa3".parse::<Address>().unwrap()
        );
        let twice = r#"{"format":"pactum-deployments/1","deployments":[
            {"chainId":"1","escrow":"0x0000000000000000000000000000000000000001","deploymentBlock":"1"},
            {"chainId":"1","escrow":"0x0000000000000000000000000000000000000002","deploymentBlock":"1"}]}"#;
        assert!(matches!(Deployments::parse(twice), Err(Error::Duplicate(1))));
    }
}
