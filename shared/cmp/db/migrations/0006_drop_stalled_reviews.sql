-- Review jobs now go through the transactional outbox (written with the review run, relayed after commit
-- and by the outbox sweep), so housekeeping no longer looks for queued runs whose message was lost.
drop function if exists housekeeping_stalled_reviews(timestamptz);
