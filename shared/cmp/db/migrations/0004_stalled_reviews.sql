-- Housekeeping: review runs still queued long after submission (their SQS message was never sent or was
-- lost), so they can be sent again. The review job ignores a run that is no longer queued.
create or replace function housekeeping_stalled_reviews(p_cutoff timestamptz)
    returns table (tenant_id uuid, product_id uuid, review_run_id uuid)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select r.tenant_id, r.product_id, r.id from product_review_runs r
        where r.status = 'queued' and r.updated_at < p_cutoff
        order by r.created_at
    $$;

revoke all on function housekeeping_stalled_reviews(timestamptz) from public;
grant execute on function housekeeping_stalled_reviews(timestamptz) to cmp_app;
