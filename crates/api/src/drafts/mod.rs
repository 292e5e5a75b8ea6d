//! Drafts: agreements before they go on chain.
//!
//! A brand drafts; either party proposes a new version (which voids the signatures collected for
//! the previous one, since they sign a different digest; on chain they stay valid until that
//! version's deadline, so the draft view offers each party who signed it the escrow's `revoke`); each party fetches the EIP-712 typed
//! data of the current version, signs it in its wallet and posts the signature, which is verified
//! before it is stored. With both signatures the brand gets the transactions to send: an ERC-20
//! `approve` (when the allowance falls short) and `createAndFund`, or, with an EIP-2612 permit the
//! brand signed off chain, the one `createAndFundWithPermit`. Every step is appended to the draft's
//! hash-chained log.
//!
//! One module per concern: [`input`] (what clients send, checked as the escrow will), [`view`]
//! (what they get back, and who may see it), [`handlers`] (the draft's life until both signed),
//! [`funding`] and [`permit`] (the transactions that put it on chain), [`log`] (the off-chain log).

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::AppState;

mod funding;
pub(crate) use funding::IERC20Allowance;
mod handlers;
mod input;
mod log;
mod permit;
mod view;

pub use funding::{FundingTransactions, TxRequest};
pub use handlers::{DraftInvitation, DraftList, DraftListQuery, DraftTypedData};
pub use input::{
    DraftInput, MilestoneInput, SignRequest, VersionQuery, DEFAULT_REVISION_ROUNDS,
    DEFAULT_SIGNATURE_LIFETIME, MAX_FEE_BPS, MAX_MILESTONES, MAX_REVISION_ROUNDS, MAX_TERM,
    MAX_WINDOW, MIN_WINDOW,
};
pub(crate) use log::record;
pub use log::{DraftLog, LogEntryView};
pub use permit::{FundWithPermit, PermitInput, PermitToSign};
pub use view::{
    DraftView, Eip712Field, Eip712TypedData, RevocableVersion, SignatureView, VersionView,
};

/// Routes under `/v1/drafts`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(handlers::create, handlers::mine))
        .routes(routes!(handlers::show, handlers::change))
        .routes(routes!(handlers::invitation))
        .routes(routes!(handlers::typed_data))
        .routes(routes!(handlers::sign))
        .routes(routes!(funding::transactions, permit::transactions_with_permit))
        .routes(routes!(permit::permit))
        .routes(routes!(log::log))
}
