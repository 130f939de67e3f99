-- Sub-workflows (issue 11): when the parent's `subworkflow` step stops waiting for this run (the step's start
-- as the step worker saw it + the state's TimeoutSeconds, so never earlier than Step Functions' own timeout).
-- A child run past it, or whose parent run finished, is cancelled before its next step (`cmp.workflows.runs`).
alter table workflow_runs add column parent_deadline timestamptz;
