-- Sign-up now starts onboarding through the transactional outbox (written in the sign-up transaction,
-- relayed after commit, swept by housekeeping), so housekeeping no longer looks for onboardings whose start
-- was lost, and the execution ARN recorded after a send-after-commit is gone with it.
drop function if exists housekeeping_stalled_onboardings(timestamptz);
alter table tenants drop column if exists onboarding_execution_arn;

-- The sweep takes the least-tried messages first: a message that keeps failing (a target that no longer
-- exists) cannot hold back the messages behind it once more than `p_limit` of them have piled up.
create or replace function outbox_pending(p_cutoff timestamptz, p_limit integer)
    returns table (id uuid, kind varchar, target text, name text, payload jsonb, attributes jsonb)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select o.id, o.kind, o.target, o.name, o.payload, o.attributes from outbox o
        where o.sent_at is null and o.created_at < p_cutoff
        order by o.attempts, o.created_at limit p_limit
    $$;
