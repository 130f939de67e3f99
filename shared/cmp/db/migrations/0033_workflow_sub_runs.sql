-- Sub-workflows (issue 11): a run started by another run's `subworkflow` step names its parent run, the
-- parent's step execution and the callback token the parent's execution waits on (answered when the child
-- finishes; never returned by any API), and its depth in the chain (0 for a run nobody started from a
-- step). Cancelling a parent finds its running children through `workflow_runs_parent`.
alter table workflow_runs
    add column parent_run_id uuid,
    add column parent_step_execution_id uuid,
    add column parent_task_token text,
    add column depth smallint not null default 0,
    add foreign key (parent_run_id, tenant_id) references workflow_runs(id, tenant_id) on delete cascade;
create index workflow_runs_parent on workflow_runs(parent_run_id) where parent_run_id is not null;
