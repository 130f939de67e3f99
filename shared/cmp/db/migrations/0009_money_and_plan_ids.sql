-- Money in minor units and stable plan ids (cmp.money, cmp.capabilities.plan_ids).
--
-- 1. Every plan gets an id (`plan_` + 12 characters of a-z2-7) in the working copy (`plans.spec`), every
--    published version (`product_versions.plans`) and the live listing (`marketplace_listings.plans`). The
--    id is derived from the product and the plan's lower-cased name, so one plan name has one id across
--    the three tables and every version of a product, as the application's own rule keeps it afterwards
--    (a plan saved without an id keeps the id of the product's plan with its name).
-- 2. Prices in those documents are rewritten with their currency's ISO 4217 exponent ("29.00" USD,
--    "1500" JPY, "1.500" KWD), as the application now stores them, so an unchanged plan compares equal
--    when the next version is computed.
-- 3. The listing's `min_price_monthly numeric` becomes `min_price_minor bigint` (minor units) and
--    `currency char(3)` (plans[0]'s, the product's one currency). A listing from before the one-currency
--    rule takes its minimum among the plans in plans[0]'s currency only.
-- 4. The price indexes of 0002/0003 are rebuilt with the currency first: price filters and price sorts
--    compare one currency (cmp.catalog.search), so each is an equality on `currency` and then the same
--    key order as before; `marketplace_catalog` (0003) is recreated with the new columns.
--
-- The platform accepted any three letters as a currency and two decimals in any currency before. A
-- working-copy plan or a live listing priced in a code that is not an ISO 4217 currency, or in fractions of
-- a minor unit (1500.50 JPY), cannot be read under the new rules: the migration stops and names the
-- product, so the data is fixed first. Frozen versions are history and stay as they are in that case.

-- ISO 4217 list one as published 2026-01-01 (the iso4217 package's table): every current currency with a
-- minor unit and its exponent. tests/unit/test_migration_money_table.py checks it against the package.
create temporary table iso4217 (code char(3) primary key, exponent int not null) on commit drop;
insert into iso4217 (code, exponent) values
    ('AED', 2), ('AFN', 2), ('ALL', 2), ('AMD', 2), ('AOA', 2), ('ARS', 2), ('AUD', 2), ('AWG', 2), ('AZN', 2),
    ('BAM', 2), ('BBD', 2), ('BDT', 2), ('BHD', 3), ('BIF', 0), ('BMD', 2), ('BND', 2), ('BOB', 2), ('BOV', 2),
    ('BRL', 2), ('BSD', 2), ('BTN', 2), ('BWP', 2), ('BYN', 2), ('BZD', 2), ('CAD', 2), ('CDF', 2), ('CHE', 2),
    ('CHF', 2), ('CHW', 2), ('CLF', 4), ('CLP', 0), ('CNY', 2), ('COP', 2), ('COU', 2), ('CRC', 2), ('CUP', 2),
    ('CVE', 2), ('CZK', 2), ('DJF', 0), ('DKK', 2), ('DOP', 2), ('DZD', 2), ('EGP', 2), ('ERN', 2), ('ETB', 2),
    ('EUR', 2), ('FJD', 2), ('FKP', 2), ('GBP', 2), ('GEL', 2), ('GHS', 2), ('GIP', 2), ('GMD', 2), ('GNF', 0),
    ('GTQ', 2), ('GYD', 2), ('HKD', 2), ('HNL', 2), ('HTG', 2), ('HUF', 2), ('IDR', 2), ('ILS', 2), ('INR', 2),
    ('IQD', 3), ('IRR', 2), ('ISK', 0), ('JMD', 2), ('JOD', 3), ('JPY', 0), ('KES', 2), ('KGS', 2), ('KHR', 2),
    ('KMF', 0), ('KPW', 2), ('KRW', 0), ('KWD', 3), ('KYD', 2), ('KZT', 2), ('LAK', 2), ('LBP', 2), ('LKR', 2),
    ('LRD', 2), ('LSL', 2), ('LYD', 3), ('MAD', 2), ('MDL', 2), ('MGA', 2), ('MKD', 2), ('MMK', 2), ('MNT', 2),
    ('MOP', 2), ('MRU', 2), ('MUR', 2), ('MVR', 2), ('MWK', 2), ('MXN', 2), ('MXV', 2), ('MYR', 2), ('MZN', 2),
    ('NAD', 2), ('NGN', 2), ('NIO', 2), ('NOK', 2), ('NPR', 2), ('NZD', 2), ('OMR', 3), ('PAB', 2), ('PEN', 2),
    ('PGK', 2), ('PHP', 2), ('PKR', 2), ('PLN', 2), ('PYG', 0), ('QAR', 2), ('RON', 2), ('RSD', 2), ('RUB', 2),
    ('RWF', 0), ('SAR', 2), ('SBD', 2), ('SCR', 2), ('SDG', 2), ('SEK', 2), ('SGD', 2), ('SHP', 2), ('SLE', 2),
    ('SOS', 2), ('SRD', 2), ('SSP', 2), ('STN', 2), ('SVC', 2), ('SYP', 2), ('SZL', 2), ('THB', 2), ('TJS', 2),
    ('TMT', 2), ('TND', 3), ('TOP', 2), ('TRY', 2), ('TTD', 2), ('TWD', 2), ('TZS', 2), ('UAH', 2), ('UGX', 0),
    ('USD', 2), ('USN', 2), ('UYI', 0), ('UYU', 2), ('UYW', 4), ('UZS', 2), ('VED', 2), ('VES', 2), ('VND', 0),
    ('VUV', 0), ('WST', 2), ('XAD', 2), ('XAF', 0), ('XCD', 2), ('XCG', 2), ('XOF', 0), ('XPF', 0), ('YER', 2),
    ('ZAR', 2), ('ZMW', 2), ('ZWG', 2)
;

-- A plan's id: stable for (product, lower-cased name), in the application's format.
create function pg_temp.plan_id(p_product uuid, p_name text) returns text
    language sql immutable
    as $$ select 'plan_' || translate(substr(md5(p_product::text || ':' || lower(p_name)), 1, 12), '0189', 'wxyz') $$;

-- A price (a JSON string or number, or null) written with its currency's exponent; left as it is when the
-- currency is unknown or the value is not a whole number of minor units (frozen versions only: the check
-- below stops the migration for such working copies and listings).
create function pg_temp.price(p_price jsonb, p_currency text) returns jsonb
    language sql stable
    as $$
        select case
            when p_price is null or jsonb_typeof(p_price) not in ('string', 'number') then p_price
            when e.exponent is null or round((p_price #>> '{}')::numeric, e.exponent) <> (p_price #>> '{}')::numeric
                then p_price
            else to_jsonb(round((p_price #>> '{}')::numeric, e.exponent)::text)
        end
        from (select (select exponent from iso4217 where code = coalesce(p_currency, 'USD')) as exponent) e
    $$;

create function pg_temp.plan(p_product uuid, p_plan jsonb) returns jsonb
    language sql stable
    as $$
        select p_plan || jsonb_build_object(
            'id', coalesce(p_plan ->> 'id', pg_temp.plan_id(p_product, p_plan ->> 'name')),
            'priceMonthly', pg_temp.price(p_plan -> 'priceMonthly', p_plan ->> 'currency'),
            'priceYearly', pg_temp.price(p_plan -> 'priceYearly', p_plan ->> 'currency'))
    $$;

create function pg_temp.plans(p_product uuid, p_plans jsonb) returns jsonb
    language sql stable
    as $$
        select coalesce(jsonb_agg(pg_temp.plan(p_product, t.plan) order by t.n), '[]'::jsonb)
        from jsonb_array_elements(p_plans) with ordinality as t(plan, n)
    $$;

do $$
declare
    bad record;
begin
    select s.source, s.product_id, s.plan ->> 'name' as name, coalesce(s.plan ->> 'currency', 'USD') as currency,
           c.exponent
    into bad
    from (
        select 'plans' as source, p.product_id, p.spec as plan from plans p
        union all
        select 'marketplace_listings', l.product_id, t.plan
        from marketplace_listings l, jsonb_array_elements(l.plans) as t(plan)
    ) s
    left join iso4217 c on c.code = coalesce(s.plan ->> 'currency', 'USD')
    where c.code is null
       or exists (
            select 1 from (values (s.plan ->> 'priceMonthly'), (s.plan ->> 'priceYearly')) as v(price)
            where v.price is not null and round(v.price::numeric, c.exponent) <> v.price::numeric)
    limit 1;
    if found then
        raise exception 'migration 0009: % of product % has plan % priced in %, which %; fix the plan and migrate again',
            bad.source, bad.product_id, bad.name, bad.currency,
            case when bad.exponent is null then 'is not an ISO 4217 currency with a minor unit'
                 else format('has %s decimal places (ISO 4217) and the price has more', bad.exponent) end;
    end if;
end
$$;

update plans set spec = pg_temp.plan(product_id, spec);
update product_versions set plans = pg_temp.plans(product_id, plans);
update marketplace_listings set plans = pg_temp.plans(product_id, plans);

drop view marketplace_catalog;

alter table marketplace_listings
    add column min_price_minor bigint,
    add column currency char(3);
update marketplace_listings l set
    currency = coalesce(l.plans -> 0 ->> 'currency', 'USD'),
    min_price_minor = (
        select min(((t.plan ->> 'priceMonthly')::numeric * power(10::numeric, c.exponent))::bigint)
        from jsonb_array_elements(l.plans) as t(plan)
        join iso4217 c on c.code = coalesce(t.plan ->> 'currency', 'USD')
        where c.code = coalesce(l.plans -> 0 ->> 'currency', 'USD') and t.plan ->> 'priceMonthly' is not null);
alter table marketplace_listings
    alter column currency set not null,
    add constraint marketplace_listings_currency check (currency ~ '^[A-Z]{3}$'),
    add constraint marketplace_listings_min_price check (min_price_minor >= 0),
    drop column min_price_monthly;  -- drops marketplace_listings_price, _price_asc and _price_desc with it

-- As 0003, with the new price columns in place of min_price_monthly.
create view marketplace_catalog as
    select product_id, version, slug, name, short_description, full_description, category, subcategory, tags,
           seller_name, logo_key, screenshot_keys, demo_url, documentation_url, capabilities, plans,
           min_price_minor, currency, runtime_types, featured, rating_avg, rating_count, subscriber_count,
           published_at, search_vector
    from marketplace_listings;
revoke all on marketplace_catalog from cmp_app;
grant select on marketplace_catalog to cmp_app;

-- Price range filters (one currency) and the two price sorts, each in exactly cmp.catalog.search's key
-- order after the equality on currency, so a price-sorted page reads its first index entries.
create index marketplace_listings_price on marketplace_listings (currency, min_price_minor, product_id);
create index marketplace_listings_price_asc on marketplace_listings
    (currency, (min_price_minor is null), coalesce(min_price_minor, 0), product_id);
create index marketplace_listings_price_desc on marketplace_listings
    (currency, (min_price_minor is null), coalesce(min_price_minor, 0) desc, product_id);

drop function pg_temp.plans(uuid, jsonb);
drop function pg_temp.plan(uuid, jsonb);
drop function pg_temp.price(jsonb, text);
drop function pg_temp.plan_id(uuid, text);
analyze marketplace_listings;
