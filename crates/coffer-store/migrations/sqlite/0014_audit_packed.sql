-- Audit batches packed (issue 18): a batch's JSON lines are stored zstd-compressed in `packed`
-- (about a tenth of the bytes: records repeat the same names and values), and `records` is left
-- empty. A group commit of a dozen records then writes one or two pages and fsyncs them, where
-- its ~17 KiB of text used to fill an overflow chain of five. Rows written before keep their
-- text in `records` (`packed` NULL); both decode (coffer_store::audit_log::decode_row).
ALTER TABLE audit_log ADD COLUMN packed BLOB;
