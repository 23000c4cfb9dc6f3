"""PostgreSQL's catalog: tables with ``pg_class.reltuples`` estimates, columns, primary keys."""

TABLES = (
    "select t.table_schema as schema, t.table_name as \"table\", "
    "case t.table_type when 'VIEW' then 'view' else 'table' end as kind, "
    "case when c.reltuples < 0 then null else c.reltuples::bigint end as rows "
    "from information_schema.tables t "
    "left join pg_namespace n on n.nspname = t.table_schema "
    "left join pg_class c on c.relnamespace = n.oid and c.relname = t.table_name "
    "where t.table_schema not in ('pg_catalog', 'information_schema') order by 1, 2"
)
COLUMNS = (
    "select column_name as \"column\", data_type as type, is_nullable = 'YES' as nullable, "
    "ordinal_position as position from information_schema.columns "
    "where table_name = :table and table_schema = coalesce(:schema, current_schema()) order by ordinal_position"
)
PRIMARY_KEY = (
    "select a.attname as name from pg_index i join pg_attribute a "
    "on a.attrelid = i.indrelid and a.attnum = any(i.indkey) "
    "where i.indrelid = to_regclass(:table) and i.indisprimary order by array_position(i.indkey, a.attnum)"
)

# -- fingerprints (see the package docstring) ----------------------------------------
REGCLASS = "select to_regclass(%s)::oid::bigint"
ALL_TABLES_OIDS = (
    "select c.oid::bigint from pg_class c join pg_namespace n on n.oid = c.relnamespace "
    "where c.relkind in ('r', 'p', 'm') and not c.relispartition "
    "and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%%' "
    "order by n.nspname, c.relname"
)
RELATION = (
    "select n.nspname, c.relname, c.relkind::text, c.relfilenode::bigint, "
    "(select string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' "
    "|| coalesce(a.attmissingval::text, ''), ',' order by a.attnum) from pg_attribute a "
    "where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) "
    "from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.oid = %s::oid"
)
ROW_VERSIONS = (
    "select count(*), sum(hashtextextended(tableoid::text || ctid::text || ':' || xmin::text, 0))::text from {}"
)
