-- Fair queuing of queued work (issue 10): an outbox message to a queue that names a group (the producer's
-- tenant) is held in the outbox and released into SQS only while its group has fewer than its plan's share
-- of jobs in flight; the consumer reports each job finished, which frees the slot and releases the next.
-- So a queue holds at most a few jobs per tenant and one tenant's flood waits here, not ahead of others.
alter table outbox add column held boolean not null default false;
alter table outbox add column released_at timestamptz;
alter table outbox add column done_at timestamptz;
create index outbox_fair_held on outbox (target, name, created_at) where held;
create index outbox_fair_running on outbox (target, name)
    where released_at is not null and done_at is null;

-- The relay's sweep never sends a held message: it waits for `fair_release`.
create or replace function outbox_pending(p_cutoff timestamptz, p_limit integer)
    returns table (id uuid, kind varchar, target text, name text, payload jsonb, attributes jsonb)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select o.id, o.kind, o.target, o.name, o.payload, o.attributes from outbox o
        where o.sent_at is null and not o.held and o.created_at < p_cutoff
        order by o.created_at limit p_limit
    $$;

-- Release held messages of one queue: each group gets up to its share (`p_shares`: plan tier -> jobs in
-- flight, '' for a tenant without an active subscription) minus its jobs in flight (released, not done,
-- released less than `p_lease_seconds` ago: a job whose consumer died frees its slot when the lease ends).
-- The group's tier is the best of its tenant's active subscriptions. One releaser per queue at a time
-- (transaction-scoped advisory lock), so two concurrent releases cannot both fill the same free slots.
-- Returns the released messages, highest share first, then oldest first.
create or replace function fair_release(p_target text, p_shares jsonb, p_lease_seconds integer)
    returns table (id uuid, kind varchar, target text, name text, payload jsonb, attributes jsonb)
    language plpgsql security definer set search_path = public, pg_temp
    as $$
    begin
        perform pg_advisory_xact_lock(hashtextextended('fair_release:' || p_target, 0));
        return query
        with grp as (
            select o.name, (array_agg(o.tenant_id))[1] as tenant_id
            from outbox o where o.held and o.target = p_target
            group by o.name
        ), share as (
            select g.name, coalesce((
                select max((p_shares ->> (s.plan ->> 'tier'))::integer) from subscriptions s
                where s.tenant_id = g.tenant_id and s.status in ('active', 'past_due')
            ), (p_shares ->> '')::integer, 1) as share
            from grp g
        ), running as (
            select o.name, count(*)::integer as n from outbox o
            where o.target = p_target and o.released_at is not null and o.done_at is null
              and o.released_at > now() - make_interval(secs => p_lease_seconds)
              and o.name in (select g.name from grp g)
            group by o.name
        ), picked as (
            select w.id, s.share, w.created_at from share s
            left join running r on r.name = s.name
            cross join lateral (
                select o.id, o.created_at from outbox o
                where o.held and o.target = p_target and o.name = s.name
                order by o.created_at limit greatest(s.share - coalesce(r.n, 0), 0)
            ) w
        ), released as (
            update outbox o set held = false, released_at = now()
            from picked p where o.id = p.id
            returning o.id, o.kind, o.target, o.name, o.payload, o.attributes
        )
        select r.id, r.kind, r.target, r.name, r.payload, r.attributes
        from released r join picked p on p.id = r.id
        order by p.share desc, p.created_at;
    end
    $$;

-- The queues that have held messages (the sweep releases each).
create or replace function fair_held_targets() returns setof text
    language sql stable security definer set search_path = public, pg_temp
    as $$ select distinct o.target from outbox o where o.held $$;

-- The consumer finished a released job (done, or dead-lettered): free its slot; returns its queue, or null
-- when it was already finished (a redelivery) or is not a fair job.
create or replace function fair_done(p_id uuid) returns text
    language sql security definer set search_path = public, pg_temp
    as $$
        update outbox set done_at = now()
        where id = p_id and released_at is not null and done_at is null
        returning target
    $$;

revoke all on function fair_release(text, jsonb, integer), fair_held_targets(), fair_done(uuid) from public;
grant execute on function fair_release(text, jsonb, integer), fair_held_targets(), fair_done(uuid) to cmp_app;
