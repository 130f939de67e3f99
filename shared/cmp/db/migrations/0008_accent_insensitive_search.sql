-- Marketplace search ignores accents: `cafe` finds "Café Crème" and `café` finds "Cafe Creme".
--
-- Two text search configurations, copies of `english` and `simple` that pass every word through the
-- `unaccent` dictionary (contrib; a trusted extension, so the owner creates it) before the stemmer or the
-- lower-casing: "Crème" is indexed as 'creme', and a query word goes through the same configuration
-- (cmp.catalog.search), so either side may carry the accent. Only the token types of words with non-ASCII
-- letters (`word`, `hword`, `hword_part`) can hold an accent; the ASCII ones keep their dictionaries.
create extension if not exists unaccent;

create text search configuration cmp_english (copy = english);
alter text search configuration cmp_english
    alter mapping for word, hword, hword_part with unaccent, english_stem;

create text search configuration cmp_simple (copy = simple);
alter text search configuration cmp_simple
    alter mapping for word, hword, hword_part with unaccent, simple;

-- The vector of 0002 with the new configurations; the weights are unchanged (name A, short description and
-- tags B, full description C). This rewrites the table: every existing listing gets its unaccented vector,
-- and marketplace_listings_search is rebuilt with its reloptions (fastupdate = off, 0003), so nothing is
-- left in a pending list.
alter table marketplace_listings alter column search_vector set expression as (
    setweight(to_tsvector('cmp_english', coalesce(name, '')), 'A')
    || setweight(to_tsvector('cmp_simple', coalesce(name, '')), 'A')
    || setweight(to_tsvector('cmp_simple', tags_text(tags)), 'B')
    || setweight(to_tsvector('cmp_english', coalesce(short_description, '')), 'B')
    || setweight(to_tsvector('cmp_english', coalesce(full_description, '')), 'C')
);
analyze marketplace_listings;
