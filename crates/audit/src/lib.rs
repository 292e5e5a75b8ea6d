//! Pactum's audit, as a library of its own: what an auditor runs needs neither our server nor our
//! database, only a node of the escrow's chain. `pactum verify`, `pactum reconcile`, the API's
//! bundle export and the tests all go through this crate, so there is one verifier to trust and to
//! attack.

pub mod bundle;
pub mod deployments;
pub mod num;
pub mod performance;
pub mod reconcile;
pub mod verify;

pub use bundle::{Bundle, FORMAT};
pub use verify::{verify, Outcome, Report, Status, Trust};
