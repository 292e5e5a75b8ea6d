//! The audit bundle export: the agreement as the indexer's mirror holds it at one block, in
//! `pactum-audit`'s format 2, signed by this server's export key so that a bundle handed over later
//! can be attributed to the server that exported it. The format and the verifier live in
//! `pactum-audit`; this module only gathers what the mirror and the drafts hold.

use alloy::{
    eips::BlockId,
    primitives::{Bytes, B256},
};
use pactum_audit::bundle::{
    AgreementDoc, BlockRef, Bundle, Event, LogEntry, PartySignature, Role, SignatureMethod,
    Summary, TermsDoc, TxRef, FORMAT,
};
use sqlx::Connection;
use utoipa::{openapi::OpenApi, Modify};

use crate::{error::ApiError, AppState};

/// Builds agreement `id`'s bundle as of the indexer's checkpoint, and signs it. The caller has
/// already been allowed to read it.
pub async fn bundle(
    state: &AppState,
    chain: &crate::Chain,
    id: B256,
) -> Result<serde_json::Value, ApiError> {
    let mut conn = state.pool.acquire().await?;
    // One snapshot: the checkpoint, the events and the ledger agree with one another even while
    // the indexer writes the next batch.
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let cp = pactum_db::checkpoint(&mut tx, chain.id)
        .await?
        .ok_or_else(|| ApiError::not_found("agreement"))?;
    let rows = pactum_db::load_agreements(&mut tx, chain.id, &[id]).await?;
    let ledger =
        rows.get(&id).map(|r| r.ledger.clone()).ok_or_else(|| ApiError::not_found("agreement"))?;
    let agreement = ledger.agreement.clone().ok_or_else(|| ApiError::not_found("agreement"))?;
    let history = pactum_db::api::history(&mut tx, chain.id, id).await?;
    let version = pactum_db::api::version_by_agreement(&mut tx, id).await?;
    let (signed, log) = match &version {
        Some(v) => (
            pactum_db::api::signatures(&mut tx, &v.draft_id, v.version).await?,
            Some(pactum_db::api::log(&mut tx, &v.draft_id).await?),
        ),
        None => (Vec::new(), None),
    };
    tx.commit().await?;

    let events = history
        .into_iter()
        .map(|e| {
            Ok(Event {
                name: e.event,
                block_number: u64::try_from(e.block_number).map_err(ApiError::internal)?,
                block_hash: e.block_hash,
                tx_hash: e.tx_hash,
                log_index: u64::try_from(e.log_index).map_err(ApiError::internal)?,
                topics: e.topics.chunks(32).map(B256::from_slice).collect(),
                data: e.data.into(),
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let first = events.first().filter(|e| e.name == "AgreementCreated").ok_or_else(|| {
        ApiError::internal(format!("agreement {id}: no AgreementCreated mirrored"))
    })?;
    let created = TxRef {
        block_number: first.block_number,
        block_hash: first.block_hash,
        tx_hash: first.tx_hash,
    };

    // The signatures the creation transaction submitted. Drafted here, they are the ones stored
    // with the draft; created elsewhere, they are read from the creation transaction itself.
    let mut pairs: Vec<(Role, Bytes)> = signed
        .iter()
        .filter(|s| s.digest == id)
        .filter_map(|s| {
            let role = match s.role.as_str() {
                "brand" => Role::Brand,
                "creator" => Role::Creator,
                _ => return None,
            };
            Some((role, Bytes::from(s.signature.clone())))
        })
        .collect();
    if pairs.len() != 2 {
        let found = pactum_audit::verify::creation_signatures(
            &chain.provider,
            chain.escrow,
            chain.id,
            id,
            created.tx_hash,
        )
        .await
        .map_err(ApiError::upstream)?;
        pairs = match found {
            Ok((brand, creator)) => vec![(Role::Brand, brand), (Role::Creator, creator)],
            Err(why) => {
                tracing::warn!(%id, %why, "the creation signatures could not be read");
                Vec::new()
            }
        };
    }
    let at = BlockId::hash(created.block_hash);
    let mut signatures = Vec::with_capacity(2);
    for (role, signature) in pairs {
        let signer = match role {
            Role::Brand => agreement.brand,
            Role::Creator => agreement.creator,
        };
        let method =
            pactum_audit::verify::signature_method(&chain.provider, signer, id, &signature, at)
                .await
                .unwrap_or(SignatureMethod::Eip1271);
        signatures.push(PartySignature { role, signer, signature, method });
    }

    let bundle = Bundle {
        format: FORMAT.to_owned(),
        chain_id: chain.id,
        escrow: chain.escrow,
        exported_at: u64::try_from(crate::now()).unwrap_or_default(),
        as_of: BlockRef { number: cp.block_number, hash: cp.block_hash },
        created,
        agreement_id: id,
        agreement: AgreementDoc::from(&agreement),
        terms: version
            .as_ref()
            .map(|v| TermsDoc { canonical: v.terms_canonical.clone(), hash: v.terms_hash }),
        signatures,
        events,
        summary: Summary::of(&ledger),
        offchain_log: log.map(|entries| {
            entries
                .into_iter()
                .map(|e| LogEntry {
                    seq: u64::try_from(e.seq).unwrap_or_default(),
                    entry: e.entry,
                    prev_hash: e.prev_hash,
                    hash: e.hash,
                })
                .collect()
        }),
        extensions: Default::default(),
        exporter: None,
    };
    sign(state, bundle)
}

/// Signs a bundle with the server's export key: EIP-191 over the keccak256 of the canonical JSON
/// of everything but the signature itself (`pactum_audit::verify::exporter_digest`).
fn sign(state: &AppState, mut bundle: Bundle) -> Result<serde_json::Value, ApiError> {
    let unsigned = serde_json::to_value(&bundle).map_err(ApiError::internal)?;
    bundle.exporter = Some(
        pactum_audit::verify::exporter_signature(&unsigned, &state.cfg.export_key)
            .map_err(ApiError::internal)?,
    );
    serde_json::to_value(&bundle).map_err(ApiError::internal)
}

/// The published JSON schema of the bundle (`docs/audit-bundle.schema.json`), the one document a
/// verifier in another language is written from, added to the API's OpenAPI components as
/// `AuditBundle` (its `$defs` as `AuditBundle.<name>`), so the export's response is typed by the
/// same text the auditors read rather than by a second description of it.
pub struct AuditBundleSchema;

/// The schema's text, as committed.
pub const SCHEMA: &str = include_str!("../../../docs/audit-bundle.schema.json");

impl Modify for AuditBundleSchema {
    fn modify(&self, api: &mut OpenApi) {
        let text = SCHEMA.replace("\"#/$defs/", "\"#/components/schemas/AuditBundle.");
        let Ok(serde_json::Value::Object(mut root)) = serde_json::from_str(&text) else {
            // The schema is compiled in and parsed by a test; a broken one must not stop the API.
            tracing::error!(
                "docs/audit-bundle.schema.json does not parse; the bundle stays untyped"
            );
            return;
        };
        let defs = root.remove("$defs");
        root.remove("$schema");
        root.remove("$id");
        let components = api.components.get_or_insert_with(Default::default);
        let mut add = |name: String, value: serde_json::Value| match serde_json::from_value::<
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        >(value)
        {
            Ok(schema) => {
                components.schemas.insert(name, schema);
            }
            Err(e) => {
                tracing::error!(%name, error = %e, "audit bundle schema part not representable")
            }
        };
        if let Some(serde_json::Value::Object(defs)) = defs {
            for (name, def) in defs {
                add(format!("AuditBundle.{name}"), def);
            }
        }
        add("AuditBundle".to_owned(), serde_json::Value::Object(root));
    }
}

#[cfg(test)]
mod tests {
    use utoipa::{openapi::OpenApiBuilder, Modify};

    #[test]
    fn the_bundle_schema_becomes_openapi_components() {
        let mut api = OpenApiBuilder::new().build();
        super::AuditBundleSchema.modify(&mut api);
        let schemas = api.components.map(|c| c.schemas).unwrap_or_default();
        let text = super::SCHEMA.replace("\"#/$defs/", "\"#/components/schemas/AuditBundle.");
        let mut root: serde_json::Value = serde_json::from_str(&text).unwrap();
        root.as_object_mut().map(|o| {
            o.remove("$defs");
            o.remove("$schema");
            o.remove("$id")
        });
        for (k, v) in root["properties"].as_object().unwrap() {
            let part = serde_json::from_value::<
                utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
            >(v.clone());
            assert!(part.is_ok(), "property {k} is not representable in OpenAPI: {:?}", part.err());
        }
        for name in ["AuditBundle", "AuditBundle.uint", "AuditBundle.blockRef"] {
            assert!(schemas.contains_key(name), "{name} missing: {:?}", schemas.keys());
        }
        // The number rule survives the translation.
        let uint = serde_json::to_value(&schemas["AuditBundle.uint"]).unwrap();
        assert_eq!(uint["pattern"], "^(0|[1-9][0-9]*)$", "{uint}");
    }
}
