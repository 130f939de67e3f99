-- Upload forms never used (defect report #6): a file document is created `pending` with a presigned POST
-- that expires after cmp.knowledge.services.UPLOAD_EXPIRES_SECONDS. One whose file never arrived
-- (still pending, never claimed by the worker) stops counting against the plan once its form has expired
-- plus a grace period, and the hourly housekeeping removes it.
--
-- The housekeeping's one read before any tenant is known: such documents of every tenant (tenant and
-- document ids only), oldest first; each is then re-read and removed inside its own tenant under RLS.
create index knowledge_documents_awaiting_upload on knowledge_documents (created_at)
    where source_type = 'file' and status = 'pending' and attempts = 0;

create or replace function knowledge_expired_uploads(p_before timestamptz, p_limit integer)
    returns table (tenant_id uuid, document_id uuid)
    language sql stable security definer set search_path = public, pg_temp
    as $$
        select d.tenant_id, d.id from knowledge_documents d
        where d.source_type = 'file' and d.status = 'pending' and d.attempts = 0 and d.created_at < p_before
        order by d.created_at
        limit least(greatest(p_limit, 0), 1000)
    $$;
revoke all on function knowledge_expired_uploads(timestamptz, integer) from public;
grant execute on function knowledge_expired_uploads(timestamptz, integer) to cmp_app;
