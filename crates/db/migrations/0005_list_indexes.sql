-- One index per request shape of the lists (docs/queries.md). Every agreements index ends in the
-- list's order, (created_block, created_log_index), so a page is a range scan that stops at the
-- limit: no sort, and a keyset cursor is a start key. The brand and creator indexes of 0001 ended
-- in (created_block, id), which is not the list's order; they are replaced.
DROP INDEX agreements_brand;
DROP INDEX agreements_creator;
CREATE INDEX agreements_order ON agreements (chain_id, created_block, created_log_index);
CREATE INDEX agreements_brand ON agreements (chain_id, brand, created_block, created_log_index);
CREATE INDEX agreements_creator ON agreements (chain_id, creator, created_block, created_log_index);
CREATE INDEX agreements_arbiter ON agreements (chain_id, arbiter, created_block, created_log_index);
CREATE INDEX agreements_status ON agreements (chain_id, status, created_block, created_log_index);
CREATE INDEX agreements_token ON agreements (chain_id, token, created_block, created_log_index);
-- A time range becomes a block range: block times never decrease along the chain, so the first
-- block created at or after a time bounds every agreement created at or after it.
CREATE INDEX agreements_created_at ON agreements (chain_id, created_at, created_block);

-- GET /v1/drafts: newest first per chain and escrow, for an auditor (all) or one party.
DROP INDEX drafts_brand;
DROP INDEX drafts_creator;
CREATE INDEX drafts_list ON drafts (chain_id, escrow, created_at, id);
CREATE INDEX drafts_brand ON drafts (chain_id, escrow, brand, created_at, id);
CREATE INDEX drafts_creator ON drafts (chain_id, escrow, creator, created_at, id);
