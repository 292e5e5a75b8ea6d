-- The audience rows of a notification are written by `publish` in the statement right after the
-- notification itself, in the same transaction, and notifications are never deleted (a reorg marks
-- them retracted): the foreign key can never fail. Its check was a row trigger per audience row,
-- about 40% of the audience insert and a sixth of an indexer batch (three rows per event), so it
-- goes. The indexer tests compare `dump`s, which list any audience row
-- without its notification (`crates/indexer/tests/it/helpers.rs`), with a clean run's.
ALTER TABLE notification_audience DROP CONSTRAINT notification_audience_notification_id_fkey;
