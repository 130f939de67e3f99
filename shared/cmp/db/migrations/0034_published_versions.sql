-- Issue 14: a subscription moves to its product's newer published version. The buyer reads the seller's
-- version (capability document and plans) through this function, as `published_version_plans` does for
-- a plan change: a row of `product_versions` exists only for an approved (published) version.
create or replace function published_version(p_product_id uuid, p_version text)
    returns table (capabilities jsonb, plans jsonb)
    language sql stable security definer set search_path = public, pg_temp
    as $$ select capabilities, plans from product_versions where product_id = p_product_id and version = p_version $$;
