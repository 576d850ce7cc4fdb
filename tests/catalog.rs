//! The catalog, compared with PostgreSQL 15's: the same schema is created in isola and in a
//! throwaway PostgreSQL (initdb into a temporary directory, a free port, stopped at the end),
//! then the catalog queries that psql's `\d` family, SQLAlchemy's reflection and Django's
//! introspection send run against both, and their answers must be equal row by row (as text,
//! with the object ids of the schema's own objects replaced by their names, since the two
//! number them differently).
//!
//! The queries are the tools' own (from `psql -E` and the libraries' sources), except where a
//! feature isola lacks so far stands in the way; each such edit is noted beside the query.
//!
//! SQLAlchemy 2's inspector and `MetaData.reflect()` run too (`tests/python/reflection.py`,
//! the pinned packages of `tests/python_clients.rs`): against PostgreSQL, which shows the
//! script's expectations are PostgreSQL's, then against isola.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use tokio_postgres::{Client, SimpleQueryMessage};

fn schema() -> Vec<String> {
    vec![
        "CREATE TABLE author (id serial PRIMARY KEY, name varchar(40) NOT NULL UNIQUE, \
         born timestamptz, active bool DEFAULT true, score numeric(10,2) DEFAULT 0 \
         CHECK (score >= 0), bio text DEFAULT 'none', rank bigint NOT NULL DEFAULT 5)"
            .into(),
        "CREATE TABLE book (isbn text, edition int, author_id int NOT NULL \
         REFERENCES author(id) ON DELETE CASCADE, title varchar(200) NOT NULL, \
         pages bigint CHECK (pages > 0), PRIMARY KEY (isbn, edition), UNIQUE (title, edition))"
            .into(),
        "CREATE UNIQUE INDEX book_title_idx ON book (title)".into(),
        "CREATE INDEX book_author_idx ON book (author_id)".into(),
        "CREATE TABLE note (body text, n int DEFAULT 5, flag boolean NOT NULL DEFAULT false)"
            .into(),
        // a dropped column keeps its number; an added one comes after the hidden row id
        "ALTER TABLE note DROP COLUMN n".into(),
        "ALTER TABLE note ADD COLUMN extra varchar(10) DEFAULT 'x'".into(),
        // a sequence of its own
        "CREATE SEQUENCE ticket_seq AS bigint START 100 INCREMENT 5 MAXVALUE 1000 CYCLE".into(),
        "CREATE TABLE review (id bigserial PRIMARY KEY, isbn text NOT NULL, edition int \
         NOT NULL, stars smallint NOT NULL CHECK (stars >= 1 AND stars <= 5), \
         written timestamptz DEFAULT now(), FOREIGN KEY (isbn, edition) \
         REFERENCES book (isbn, edition) DEFERRABLE INITIALLY DEFERRED)"
            .into(),
    ]
}

/// The catalog queries, each answered alike by both.
const QUERIES: &[&str] = &[
    // pg_class: the schema's relations
    "SELECT c.oid, c.relname, c.relkind, c.relnamespace, c.relowner, c.relam, c.relhasindex, \
     c.relpersistence, c.relchecks, c.relispartition, c.relnatts, c.relhasrules, \
     c.relhastriggers, c.relhassubclass, c.relrowsecurity, c.relforcerowsecurity, \
     c.relispopulated, c.relreplident, c.reloptions, c.reloftype, c.relpartbound \
     FROM pg_catalog.pg_class c WHERE c.relnamespace = 2200 ORDER BY c.relname",
    "SELECT oid, nspname FROM pg_namespace WHERE nspname IN ('public', 'pg_catalog') ORDER BY 2",
    // pg_attribute, of tables and indexes
    "SELECT a.attrelid, a.attname, a.atttypid, a.atttypmod, a.attnum, a.attnotnull, \
     a.atthasdef, a.attisdropped, a.attidentity, a.attgenerated, a.attlen, a.attndims, \
     a.attcollation, a.attbyval, a.attalign, a.attstorage, a.attislocal, a.attinhcount, \
     a.attstattarget FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
     WHERE c.relnamespace = 2200 AND c.relkind IN ('r', 'i') AND a.attnum > 0 \
     ORDER BY c.relname, a.attnum",
    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) \
     FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'author'::regclass AND a.attnum > 0 \
     AND NOT a.attisdropped ORDER BY a.attnum",
    "SELECT format_type(23, -1), format_type(1043, 24), format_type(1043, NULL), \
     format_type(1700, 655366), format_type(1184, -1), format_type(20, NULL), \
     format_type(1042, -1), format_type(1042, NULL), format_type(1007, -1), \
     format_type(16, -1), format_type(NULL, 4)",
    // pg_attrdef and pg_get_expr
    "SELECT d.adrelid, d.adnum, pg_catalog.pg_get_expr(d.adbin, d.adrelid), \
     pg_get_expr(d.adbin, d.adrelid, true) FROM pg_attrdef d \
     JOIN pg_class c ON c.oid = d.adrelid WHERE c.relnamespace = 2200 \
     ORDER BY c.relname, d.adnum",
    // pg_constraint and pg_get_constraintdef
    "SELECT conname, contype, condeferrable, condeferred, convalidated, conrelid, confrelid, \
     conindid, conkey, confkey, confupdtype, confdeltype, confmatchtype, connamespace, \
     conislocal, coninhcount, connoinherit, conparentid, pg_get_constraintdef(oid), \
     pg_catalog.pg_get_constraintdef(oid, true) FROM pg_constraint \
     WHERE connamespace = 2200 ORDER BY conname",
    // pg_index and pg_get_indexdef
    "SELECT i.indexrelid, i.indrelid, i.indnatts, i.indnkeyatts, i.indisunique, \
     i.indisprimary, i.indisexclusion, i.indimmediate, i.indisclustered, i.indisvalid, \
     i.indisready, i.indislive, i.indisreplident, i.indkey, i.indcollation, i.indclass, \
     i.indoption, \
     i.indexprs, i.indpred, pg_get_indexdef(i.indexrelid), \
     pg_get_indexdef(i.indexrelid, 0, true), pg_get_indexdef(i.indexrelid, 2, true) \
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
     WHERE c.relnamespace = 2200 ORDER BY c.relname",
    "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes \
     WHERE schemaname = 'public' ORDER BY indexname",
    // pg_type
    "SELECT oid, typname, typlen, typbyval, typtype, typcategory, typelem, typarray, \
     typdelim, typnamespace, typrelid, typbasetype, typtypmod, typndims, typcollation, \
     typalign, typstorage, typnotnull FROM pg_type WHERE typname IN ('int4', '_int4', \
     'varchar', '_varchar', 'numeric', 'timestamptz', 'bool', 'text', 'int8', 'bpchar', \
     '_text', 'name', 'oid', 'int2', 'float8', 'date', 'uuid', 'bytea', 'jsonb') \
     ORDER BY typname",
    // sequences: pg_depend's ownership, pg_sequence, pg_get_serial_sequence
    "SELECT classid, objid, objsubid, refclassid, refobjid, refobjsubid, deptype \
     FROM pg_depend d WHERE d.refclassid = 'pg_class'::regclass AND d.objid IN \
     (SELECT oid FROM pg_class WHERE relkind = 'S' AND relnamespace = 2200) ORDER BY objid",
    "SELECT seqrelid, seqtypid, seqstart, seqincrement, seqmax, seqmin, seqcache, seqcycle \
     FROM pg_sequence ORDER BY seqrelid",
    "SELECT pg_get_serial_sequence('author', 'id'), pg_get_serial_sequence('public.book', \
     'isbn'), pg_get_serial_sequence('review', 'id')",
    "SELECT schemaname, sequencename, data_type, start_value, min_value, max_value, \
     increment_by, cycle, cache_size FROM pg_sequences ORDER BY sequencename",
    // roles and the database
    "SELECT rolname = current_user, rolsuper, rolinherit, rolcreaterole, rolcreatedb, \
     rolcanlogin, rolreplication, rolconnlimit, rolbypassrls, oid FROM pg_roles \
     WHERE rolname = current_user",
    "SELECT usename = current_user, usesysid, usesuper, usecreatedb FROM pg_user",
    "SELECT datname = current_database(), datdba, pg_encoding_to_char(encoding), \
     datallowconn, datconnlimit, datistemplate, datlocprovider FROM pg_database \
     WHERE datname = current_database()",
    // psql's \dt, \di, \dn, \l (without `n.nspname !~ '^pg_toast'`: no regex operator yet)
    "SELECT n.nspname as \"Schema\", c.relname as \"Name\", CASE c.relkind WHEN 'r' THEN \
     'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' \
     WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' \
     WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as \"Type\", \
     pg_catalog.pg_get_userbyid(c.relowner) as \"Owner\" FROM pg_catalog.pg_class c \
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam WHERE c.relkind IN ('r','p','') \
     AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' \
     AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1,2",
    "SELECT n.nspname as \"Schema\", c.relname as \"Name\", CASE c.relkind WHEN 'r' THEN \
     'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' \
     WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' \
     WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as \"Type\", \
     pg_catalog.pg_get_userbyid(c.relowner) as \"Owner\", c2.relname as \"Table\" \
     FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam \
     LEFT JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid \
     LEFT JOIN pg_catalog.pg_class c2 ON i.indrelid = c2.oid WHERE c.relkind IN ('i','I','') \
     AND n.nspname <> 'pg_catalog' AND n.nspname <> 'information_schema' \
     AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1,2",
    "SELECT n.nspname AS \"Name\", pg_catalog.pg_get_userbyid(n.nspowner) AS \"Owner\" \
     FROM pg_catalog.pg_namespace n WHERE substring(n.nspname, 1, 3) <> 'pg_' \
     AND n.nspname <> 'information_schema' ORDER BY 1",
    "SELECT d.datname = current_database() as \"Name\", \
     pg_catalog.pg_get_userbyid(d.datdba) as \"Owner\", \
     pg_catalog.pg_encoding_to_char(d.encoding) as \"Encoding\", \
     CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS \"Locale Provider\", \
     pg_catalog.array_to_string(d.datacl, E'\\n') AS \"Access privileges\" \
     FROM pg_catalog.pg_database d WHERE d.datname = current_database() ORDER BY 1",
    // psql's \d book (its table, columns, indexes, checks, foreign keys, referrers, parents)
    "SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, \
     c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, '', \
     c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE \
     c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, \
     c.relreplident, am.amname FROM pg_catalog.pg_class c \
     LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid) \
     LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid) WHERE c.oid = 'book'::regclass",
    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), \
     (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d \
      WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef), a.attnotnull, \
     (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t \
      WHERE c.oid = a.attcollation AND t.oid = a.atttypid \
      AND a.attcollation <> t.typcollation) AS attcollation, a.attidentity, a.attgenerated \
     FROM pg_catalog.pg_attribute a WHERE a.attrelid = 'author'::regclass AND a.attnum > 0 \
     AND NOT a.attisdropped ORDER BY a.attnum",
    "SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid, \
     pg_catalog.pg_get_indexdef(i.indexrelid, 0, true), \
     pg_catalog.pg_get_constraintdef(con.oid, true), contype, condeferrable, condeferred, \
     i.indisreplident, c2.reltablespace FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, \
     pg_catalog.pg_index i LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid \
     AND conindid = i.indexrelid AND contype IN ('p','u','x')) \
     WHERE c.oid = 'book'::regclass AND c.oid = i.indrelid AND i.indexrelid = c2.oid \
     ORDER BY i.indisprimary DESC, c2.relname",
    "SELECT r.conname, pg_catalog.pg_get_constraintdef(r.oid, true) \
     FROM pg_catalog.pg_constraint r WHERE r.conrelid = 'review'::regclass \
     AND r.contype = 'c' ORDER BY 1",
    "SELECT true as sametable, conname, pg_catalog.pg_get_constraintdef(r.oid, true) as condef, \
     conrelid::pg_catalog.regclass AS ontable FROM pg_catalog.pg_constraint r \
     WHERE r.conrelid = 'review'::regclass AND r.contype = 'f' AND conparentid = 0 \
     ORDER BY conname",
    "SELECT conname, conrelid::pg_catalog.regclass AS ontable, \
     pg_catalog.pg_get_constraintdef(oid, true) AS condef FROM pg_catalog.pg_constraint c \
     WHERE confrelid IN (SELECT pg_catalog.pg_partition_ancestors('book') \
     UNION ALL VALUES ('book'::pg_catalog.regclass)) AND contype = 'f' AND conparentid = 0 \
     ORDER BY conname",
    "SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i \
     WHERE c.oid = i.inhparent AND i.inhrelid = 'book'::regclass AND c.relkind != 'p' \
     AND c.relkind != 'I' ORDER BY inhseqno",
    "SELECT c.oid::pg_catalog.regclass, c.relkind, inhdetachpending, \
     pg_catalog.pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_class c, \
     pg_catalog.pg_inherits i WHERE c.oid = i.inhrelid AND i.inhparent = 'book'::regclass \
     ORDER BY pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', \
     c.oid::pg_catalog.regclass::pg_catalog.text",
    // information_schema
    "SELECT table_schema, table_name, table_type, is_insertable_into, is_typed \
     FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    "SELECT table_name, column_name, ordinal_position, column_default, is_nullable, \
     data_type, character_maximum_length, character_octet_length, numeric_precision, \
     numeric_precision_radix, numeric_scale, datetime_precision, udt_schema, udt_name, \
     dtd_identifier, is_identity, identity_generation, is_generated, is_updatable, \
     collation_name FROM information_schema.columns WHERE table_schema = 'public' \
     ORDER BY table_name, ordinal_position",
    "SELECT constraint_schema, constraint_name, table_name, constraint_type, is_deferrable, \
     initially_deferred, enforced, nulls_distinct FROM information_schema.table_constraints \
     WHERE table_schema = 'public' ORDER BY table_name, constraint_name",
    "SELECT constraint_name, table_name, column_name, ordinal_position, \
     position_in_unique_constraint FROM information_schema.key_column_usage \
     WHERE table_schema = 'public' ORDER BY constraint_name, ordinal_position",
    "SELECT constraint_name, check_clause FROM information_schema.check_constraints \
     WHERE constraint_schema = 'public' ORDER BY constraint_name",
    "SELECT constraint_name, unique_constraint_name, match_option, update_rule, delete_rule \
     FROM information_schema.referential_constraints WHERE constraint_schema = 'public' \
     ORDER BY constraint_name",
    "SELECT table_name, column_name, constraint_name \
     FROM information_schema.constraint_column_usage WHERE table_schema = 'public' \
     ORDER BY constraint_name, column_name",
    "SELECT schema_name FROM information_schema.schemata ORDER BY 1",
    "SELECT sequence_schema, sequence_name, data_type, numeric_precision, \
     numeric_precision_radix, numeric_scale, start_value, minimum_value, maximum_value, \
     increment, cycle_option FROM information_schema.sequences ORDER BY sequence_name",
    // SQLAlchemy 2: get_table_names / has_table
    "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class JOIN pg_catalog.pg_namespace \
     ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \
     WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p']) \
     AND pg_catalog.pg_class.relpersistence != 't' \
     AND pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid) \
     AND pg_catalog.pg_namespace.nspname != 'pg_catalog' ORDER BY 1",
    // Django: get_table_list, get_table_description (LEFT JOIN for the collation), get_sequences
    "SELECT c.relname, CASE WHEN c.relispartition THEN 'p' WHEN c.relkind IN ('m', 'v') \
     THEN 'v' ELSE 't' END, obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c \
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v') AND n.nspname NOT IN ('pg_catalog', \
     'pg_toast') AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1",
    "SELECT a.attname AS column_name, NOT (a.attnotnull OR (t.typtype = 'd' AND \
     t.typnotnull)) AS is_nullable, pg_get_expr(ad.adbin, ad.adrelid) AS column_default, \
     CASE WHEN collname = 'default' THEN NULL ELSE collname END AS collation, \
     a.attidentity != '' AS is_autofield, col_description(a.attrelid, a.attnum) \
     AS column_comment FROM pg_attribute a LEFT JOIN pg_attrdef ad \
     ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum \
     LEFT JOIN pg_collation co ON a.attcollation = co.oid \
     JOIN pg_type t ON a.atttypid = t.oid JOIN pg_class c ON a.attrelid = c.oid \
     JOIN pg_namespace n ON c.relnamespace = n.oid \
     WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v') AND c.relname = 'author' \
     AND n.nspname NOT IN ('pg_catalog', 'pg_toast') \
     AND pg_catalog.pg_table_is_visible(c.oid) AND a.attnum > 0 ORDER BY a.attnum",
    "SELECT s.relname AS sequence_name, a.attname AS colname FROM pg_class s \
     JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass \
     AND d.refclassid = 'pg_class'::regclass \
     JOIN pg_attribute a ON d.refobjid = a.attrelid AND d.refobjsubid = a.attnum \
     JOIN pg_class tbl ON tbl.oid = d.refobjid AND tbl.relname = 'review' \
     AND pg_catalog.pg_table_is_visible(tbl.oid) WHERE s.relkind = 'S'",
    // catalog functions and casts
    "SELECT 'author'::regclass = (SELECT oid FROM pg_class WHERE relname = 'author'), \
     'pg_catalog.pg_class'::regclass::oid, 'pg_class'::regclass::oid, \
     'int4'::regtype::oid, 'integer'::regtype::oid, 'character varying'::regtype::oid, \
     to_regclass('nothing_here'), pg_is_in_recovery(), current_schemas(false), \
     current_schemas(true), pg_table_is_visible('author'::regclass), \
     has_table_privilege('author', 'SELECT'), has_schema_privilege('public', 'USAGE')",
    "SELECT c.oid::regclass, c.relname FROM pg_class c WHERE c.relnamespace = 2200 \
     ORDER BY c.oid::regclass::text",
    // set_config sets the session's setting (pg_dump's first query), pg_settings shows it
    "SELECT pg_catalog.set_config('search_path', '', false)",
    "SELECT name, setting FROM pg_catalog.pg_settings WHERE name IN ('search_path', \
     'standard_conforming_strings', 'integer_datetimes') ORDER BY name",
    "SHOW search_path",
    "SELECT pg_catalog.set_config('search_path', '\"$user\", public', false), \
     set_config('application_name', 'catalog test', false)",
    "SHOW application_name",
];

/// Statements both must refuse, with the SQLSTATE.
const ERRORS: &[(&str, &str)] = &[
    ("SELECT set_config('no_such_setting', '1', false)", "42704"),
    ("SELECT 'no_such_table'::regclass", "42P01"),
    ("SELECT pg_get_serial_sequence('no_such_table', 'id')", "42P01"),
    ("SELECT pg_get_serial_sequence('author', 'nope')", "42703"),
];

/// An answer as text: the column names, then the rows.
type Answer = Vec<Vec<Option<String>>>;

async fn answer(client: &Client, sql: &str) -> Result<Answer, String> {
    let messages = client.simple_query(sql).await.map_err(|e| {
        let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
        let message = e.as_db_error().map(|d| d.message().to_string()).unwrap_or(e.to_string());
        format!("{code} {message}")
    })?;
    let mut out: Answer = Vec::new();
    for m in messages {
        match m {
            SimpleQueryMessage::RowDescription(columns) => {
                out.push(columns.iter().map(|c| Some(c.name().to_string())).collect());
            }
            SimpleQueryMessage::Row(row) => {
                if out.is_empty() {
                    out.push(row.columns().iter().map(|c| Some(c.name().to_string())).collect());
                }
                out.push((0..row.len()).map(|i| row.get(i).map(str::to_string)).collect());
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The schema's own object ids, by name (`rel:author`, `con:author_pkey`, `def:author.4`).
async fn object_ids(client: &Client) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for (sql, prefix) in [
        ("SELECT oid, relname FROM pg_class WHERE relnamespace = 2200", "rel"),
        ("SELECT oid, conname FROM pg_constraint WHERE connamespace = 2200", "con"),
        (
            "SELECT d.oid, c.relname || '.' || d.adnum FROM pg_attrdef d \
             JOIN pg_class c ON c.oid = d.adrelid WHERE c.relnamespace = 2200",
            "def",
        ),
    ] {
        for row in answer(client, sql).await.unwrap().into_iter().skip(1) {
            let (Some(oid), Some(name)) = (&row[0], &row[1]) else { continue };
            ids.insert(oid.clone(), format!("{prefix}:{name}"));
        }
    }
    ids
}

/// Replaces the object ids in a cell (whole numbers only) by their names.
fn normalise(cell: &str, ids: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        match ids.get(digits.as_str()) {
            Some(name) => out.push_str(name),
            None => out.push_str(digits),
        }
        digits.clear();
    };
    for c in cell.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            flush(&mut digits, &mut out);
            out.push(c);
        }
    }
    flush(&mut digits, &mut out);
    out
}

fn normalised(answer: Answer, ids: &BTreeMap<String, String>) -> Answer {
    answer
        .into_iter()
        .map(|row| row.into_iter().map(|c| c.map(|c| normalise(&c, ids))).collect())
        .collect()
}

fn show(answer: &Result<Answer, String>) -> String {
    match answer {
        Err(e) => format!("  ERROR {e}\n"),
        Ok(rows) => rows
            .iter()
            .map(|r| {
                let cells: Vec<String> =
                    r.iter().map(|c| c.clone().unwrap_or_else(|| "NULL".into())).collect();
                format!("  {}\n", cells.join(" | "))
            })
            .collect(),
    }
}

async fn create_schema(client: &Client) {
    for ddl in schema() {
        client.batch_execute(&ddl).await.unwrap_or_else(|e| panic!("{ddl}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_queries_answer_as_postgres_15_does() {
    let pg = common::Postgres::start();
    let postgres = common::connect(pg.port).await;
    let isola_port = common::start_server();
    let isola = common::connect(isola_port).await;
    create_schema(&postgres).await;
    create_schema(&isola).await;
    let pg_ids = object_ids(&postgres).await;
    let isola_ids = object_ids(&isola).await;
    let mut failures = Vec::new();
    for sql in QUERIES {
        let expected = answer(&postgres, sql).await.map(|a| normalised(a, &pg_ids));
        let actual = answer(&isola, sql).await.map(|a| normalised(a, &isola_ids));
        if expected != actual {
            failures.push(format!(
                "{sql}\nPostgreSQL:\n{}isola:\n{}",
                show(&expected),
                show(&actual)
            ));
        }
    }
    // A transaction sees its own DDL in the catalog; another session does not, until commit.
    for (name, port) in [("PostgreSQL", pg.port), ("isola", isola_port)] {
        let mine = common::connect(port).await;
        let other = common::connect(port).await;
        let count = "SELECT count(*) FROM pg_class WHERE relname = 'in_txn'";
        mine.batch_execute("BEGIN; CREATE TABLE in_txn (a int PRIMARY KEY)").await.unwrap();
        let mine_sees: i64 = mine.query_one(count, &[]).await.unwrap().get(0);
        let other_sees: i64 = other.query_one(count, &[]).await.unwrap().get(0);
        mine.batch_execute("ROLLBACK").await.unwrap();
        let after: i64 = mine.query_one(count, &[]).await.unwrap().get(0);
        if (mine_sees, other_sees, after) != (1, 0, 0) {
            failures.push(format!(
                "{name}: own uncommitted table seen {mine_sees}, by another {other_sees}, \
                 after rollback {after}"
            ));
        }
    }
    for (sql, code) in ERRORS {
        for (name, client) in [("PostgreSQL", &postgres), ("isola", &isola)] {
            match answer(client, sql).await {
                Err(e) if e.starts_with(code) => {}
                other => failures.push(format!("{sql}\n{name}: {}", show(&other))),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the catalog queries differ:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn reflect(pythonpath: &Path, port: u16) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/reflection.py");
    let mut command = Command::new("python3");
    command
        .env("PYTHONPATH", pythonpath)
        .arg(&script)
        .arg(format!("postgresql://isola@127.0.0.1:{port}/isola"));
    let out = command.output().expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.success() && stdout.contains("ALL OK"), format!("{stdout}\n{stderr}"))
}

#[test]
fn sqlalchemy_reflects_the_tables_as_declared() {
    let pythonpath = common::python_packages();
    let pg = common::Postgres::start();
    let (ok, output) = reflect(&pythonpath, pg.port);
    assert!(ok, "against PostgreSQL:\n{output}");
    let (ok, output) = reflect(&pythonpath, common::start_server());
    assert!(ok, "against isola:\n{output}");
}

/// psql's `\d` family, whose output must read the same from both servers.
const PSQL_COMMANDS: &[&str] = &[
    "\\d book",
    "\\d author",
    "\\d review",
    "\\d note",
    "\\d+ author",
    "\\dt",
    "\\di",
    "\\ds",
    "\\dn",
    "\\du",
    "\\l",
    "\\d+ book",
    "\\d+ review",
    "\\d ticket_seq",
    "\\d book_pkey",
    "\\d",
    "\\dv",
    "\\dp",
    "\\dT",
];

fn psql(port: u16, command: &str) -> String {
    let out = Command::new(format!("{}/psql", common::PG_BIN))
        .args(["-X", "-h", "127.0.0.1", "-p", &port.to_string(), "-U", "isola", "-d", "isola"])
        .args(["-c", command])
        .output()
        .expect("psql runs");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// psql's `\d` family prints what PostgreSQL 15 prints (its queries use the regex operators,
/// `ARRAY(subquery)`, `= ANY` over int2vector and oid arrays, `unnest ... WITH ORDINALITY`,
/// `pg_get_indexdef(oid, col, pretty)`, `quote_ident`). Sizes (`\dt+`) are left out: isola
/// reports 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_describes_tables_as_it_does_on_postgres_15() {
    let pg = common::Postgres::start();
    let isola_port = common::start_server();
    create_schema(&common::connect(pg.port).await).await;
    create_schema(&common::connect(isola_port).await).await;
    let mut failures = Vec::new();
    for command in PSQL_COMMANDS {
        let expected = psql(pg.port, command);
        let actual = psql(isola_port, command);
        if expected != actual {
            failures.push(format!("{command}\nPostgreSQL:\n{expected}\nisola:\n{actual}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
