-- The escrow after "what a party has earned stays earned": agreements name how many revision
-- rounds each milestone allows and carry a state nonce (signed settlements and mutual terminations
-- name it); milestones count the revisions asked for; a deferred payment names its agreement.
-- New statuses ('closing' for agreements, 'cancelled' for milestones) and the new event
-- (SignaturesCancelled) need no schema change: status and event columns are free text.

-- NULL for an agreement revoked before creation (no signed agreement is known).
ALTER TABLE agreements ADD COLUMN revision_rounds INTEGER;
-- The contract's AgreementState.nonce, rebuilt from the events.
ALTER TABLE agreements ADD COLUMN nonce BIGINT NOT NULL DEFAULT 0;
-- What of the agreement's payouts the escrow could not push and holds for withdrawal.
ALTER TABLE agreements ADD COLUMN deferred NUMERIC(78, 0) NOT NULL DEFAULT 0;

ALTER TABLE milestones ADD COLUMN revisions INTEGER NOT NULL DEFAULT 0;

-- NULL for withdrawals (they are per token and account, not per agreement).
ALTER TABLE deferred_payments ADD COLUMN agreement_id BYTEA;
CREATE INDEX deferred_payments_agreement ON deferred_payments (chain_id, agreement_id)
    WHERE agreement_id IS NOT NULL;
