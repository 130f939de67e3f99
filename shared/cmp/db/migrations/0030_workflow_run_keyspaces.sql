-- Idempotency keys of workflow runs live in one keyspace per trigger type (issue 11; defect report #12): a
-- manual or API run's `Idempotency-Key` never finds a webhook delivery's run (nor a schedule's or an
-- event's), whatever the key's text. Before, one index over (workflow_id, idempotency_key) let a manual
-- `Idempotency-Key: hook:x` return the run of webhook delivery `x`.
drop index workflow_runs_idempotency;
create unique index workflow_runs_idempotency on workflow_runs(workflow_id, trigger_type, idempotency_key)
    where idempotency_key is not null;
