//! System views: the parts of `pg_catalog` and `information_schema` that drivers, ORMs and
//! pg_dump read (psql, psycopg, SQLAlchemy's `create_all` / `has_table` / inspector table
//! listing, pg_dump's whole walk of the catalogs, most of them empty here), filled from isola's
//! own schema, and isola's introspection views:
//!
//! - `isola_stat_activity`: every session with its state, transaction, isolation level,
//!   snapshot and what it waits for (in the spirit of `pg_stat_activity` + `pg_locks`);
//! - `isola_serialization_failures`: the most recent serialization failures, explained;
//! - `isola_stat_wal`: the write-ahead log's counters (records, frames, fsyncs, bytes), one row
//!   (none in memory mode).
//!
//! This module lists each view's columns (what the binder needs); `sql::pg_catalog` computes
//! the rows, from the one schema, when a statement reads them.
//!
//! Invariant: the views are computed when read; they are not transactional.

use crate::sql::types::{SqlType, array_of};

/// A system view: its rows are computed when read (`sql::pg_catalog` builds them), its columns
/// are listed here (the binder reads them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemView {
    PgClass,
    PgNamespace,
    PgAttribute,
    PgAttrdef,
    PgConstraint,
    PgIndex,
    PgAm,
    PgOpclass,
    PgType,
    PgDepend,
    PgDescription,
    PgRoles,
    PgUser,
    PgAuthid,
    PgAuthMembers,
    PgDatabase,
    PgInherits,
    PgProc,
    PgSequence,
    PgSettings,
    PgCollation,
    PgTablespace,
    PgExtension,
    PgTrigger,
    PgRewrite,
    PgPolicy,
    PgStatisticExt,
    PgPublication,
    PgPublicationRel,
    PgPublicationNamespace,
    PgEnum,
    PgForeignTable,
    PgForeignDataWrapper,
    PgForeignServer,
    PgUserMapping,
    PgInitPrivs,
    PgLanguage,
    PgOperator,
    PgOpfamily,
    PgAmop,
    PgAmproc,
    PgTsParser,
    PgTsTemplate,
    PgTsDict,
    PgTsConfig,
    PgTsConfigMap,
    PgDefaultAcl,
    PgConversion,
    PgCast,
    PgRange,
    PgTransform,
    PgEventTrigger,
    PgPartitionedTable,
    PgSubscription,
    PgLargeobjectMetadata,
    PgSeclabel,
    PgShseclabel,
    PgSeclabels,
    PgShdescription,
    PgDbRoleSetting,
    PgTables,
    PgIndexes,
    PgSequences,
    PgViews,
    PgStatActivity,
    InfoTables,
    InfoColumns,
    InfoTableConstraints,
    InfoKeyColumnUsage,
    InfoReferentialConstraints,
    InfoConstraintColumnUsage,
    InfoCheckConstraints,
    InfoSchemata,
    InfoSequences,
    InfoViews,
    IsolaStatActivity,
    IsolaSerializationFailures,
    IsolaStatWal,
    IsolaLocks,
    /// The Raft group's members as this node sees them.
    IsolaCluster,
    /// The running session's SQL prepared statements.
    PgPreparedStatements,
    /// The running session's open cursors.
    PgCursors,
}

/// `pg_catalog` views by name (also found unqualified, as PostgreSQL's search path has
/// `pg_catalog` first).
const PG_CATALOG: &[(&str, SystemView)] = &[
    ("pg_class", SystemView::PgClass),
    ("pg_namespace", SystemView::PgNamespace),
    ("pg_attribute", SystemView::PgAttribute),
    ("pg_attrdef", SystemView::PgAttrdef),
    ("pg_constraint", SystemView::PgConstraint),
    ("pg_index", SystemView::PgIndex),
    ("pg_am", SystemView::PgAm),
    ("pg_opclass", SystemView::PgOpclass),
    ("pg_type", SystemView::PgType),
    ("pg_depend", SystemView::PgDepend),
    ("pg_description", SystemView::PgDescription),
    ("pg_roles", SystemView::PgRoles),
    ("pg_user", SystemView::PgUser),
    ("pg_authid", SystemView::PgAuthid),
    ("pg_auth_members", SystemView::PgAuthMembers),
    ("pg_database", SystemView::PgDatabase),
    ("pg_inherits", SystemView::PgInherits),
    ("pg_proc", SystemView::PgProc),
    ("pg_sequence", SystemView::PgSequence),
    ("pg_settings", SystemView::PgSettings),
    ("pg_collation", SystemView::PgCollation),
    ("pg_tablespace", SystemView::PgTablespace),
    ("pg_extension", SystemView::PgExtension),
    ("pg_trigger", SystemView::PgTrigger),
    ("pg_rewrite", SystemView::PgRewrite),
    ("pg_policy", SystemView::PgPolicy),
    ("pg_statistic_ext", SystemView::PgStatisticExt),
    ("pg_publication", SystemView::PgPublication),
    ("pg_publication_rel", SystemView::PgPublicationRel),
    ("pg_publication_namespace", SystemView::PgPublicationNamespace),
    ("pg_enum", SystemView::PgEnum),
    ("pg_foreign_table", SystemView::PgForeignTable),
    ("pg_foreign_data_wrapper", SystemView::PgForeignDataWrapper),
    ("pg_foreign_server", SystemView::PgForeignServer),
    ("pg_user_mapping", SystemView::PgUserMapping),
    ("pg_init_privs", SystemView::PgInitPrivs),
    ("pg_language", SystemView::PgLanguage),
    ("pg_operator", SystemView::PgOperator),
    ("pg_opfamily", SystemView::PgOpfamily),
    ("pg_amop", SystemView::PgAmop),
    ("pg_amproc", SystemView::PgAmproc),
    ("pg_ts_parser", SystemView::PgTsParser),
    ("pg_ts_template", SystemView::PgTsTemplate),
    ("pg_ts_dict", SystemView::PgTsDict),
    ("pg_ts_config", SystemView::PgTsConfig),
    ("pg_ts_config_map", SystemView::PgTsConfigMap),
    ("pg_default_acl", SystemView::PgDefaultAcl),
    ("pg_conversion", SystemView::PgConversion),
    ("pg_cast", SystemView::PgCast),
    ("pg_range", SystemView::PgRange),
    ("pg_transform", SystemView::PgTransform),
    ("pg_event_trigger", SystemView::PgEventTrigger),
    ("pg_partitioned_table", SystemView::PgPartitionedTable),
    ("pg_subscription", SystemView::PgSubscription),
    ("pg_largeobject_metadata", SystemView::PgLargeobjectMetadata),
    ("pg_seclabel", SystemView::PgSeclabel),
    ("pg_shseclabel", SystemView::PgShseclabel),
    ("pg_seclabels", SystemView::PgSeclabels),
    ("pg_shdescription", SystemView::PgShdescription),
    ("pg_db_role_setting", SystemView::PgDbRoleSetting),
    ("pg_tables", SystemView::PgTables),
    ("pg_indexes", SystemView::PgIndexes),
    ("pg_sequences", SystemView::PgSequences),
    ("pg_views", SystemView::PgViews),
    ("pg_stat_activity", SystemView::PgStatActivity),
    ("pg_prepared_statements", SystemView::PgPreparedStatements),
    ("pg_cursors", SystemView::PgCursors),
];

/// `information_schema` views by name (found only qualified).
const INFORMATION_SCHEMA: &[(&str, SystemView)] = &[
    ("tables", SystemView::InfoTables),
    ("columns", SystemView::InfoColumns),
    ("table_constraints", SystemView::InfoTableConstraints),
    ("key_column_usage", SystemView::InfoKeyColumnUsage),
    ("referential_constraints", SystemView::InfoReferentialConstraints),
    ("constraint_column_usage", SystemView::InfoConstraintColumnUsage),
    ("check_constraints", SystemView::InfoCheckConstraints),
    ("schemata", SystemView::InfoSchemata),
    ("sequences", SystemView::InfoSequences),
    ("views", SystemView::InfoViews),
];

/// The object ids PostgreSQL gives its catalogs (what `'pg_class'::regclass` reads as).
pub const CATALOG_OIDS: &[(&str, i64)] = &[
    ("pg_type", 1247),
    ("pg_attribute", 1249),
    ("pg_proc", 1255),
    ("pg_class", 1259),
    ("pg_database", 1262),
    ("pg_authid", 1260),
    ("pg_am", 2601),
    ("pg_attrdef", 2604),
    ("pg_constraint", 2606),
    ("pg_depend", 2608),
    ("pg_description", 2609),
    ("pg_index", 2610),
    ("pg_namespace", 2615),
    ("pg_collation", 3456),
    ("pg_extension", 3079),
    ("pg_sequence", 2224),
    ("pg_trigger", 2620),
    ("pg_rewrite", 2618),
    ("pg_inherits", 2611),
    ("pg_tablespace", 1213),
    ("pg_opclass", 2616),
    ("pg_auth_members", 1261),
    ("pg_policy", 3256),
    ("pg_publication", 6104),
    ("pg_publication_rel", 6106),
    ("pg_publication_namespace", 6237),
    ("pg_enum", 3501),
    ("pg_statistic_ext", 3381),
    ("pg_foreign_table", 3118),
    ("pg_foreign_data_wrapper", 2328),
    ("pg_foreign_server", 1417),
    ("pg_user_mapping", 1418),
    ("pg_init_privs", 3394),
    ("pg_language", 2612),
    ("pg_operator", 2617),
    ("pg_opfamily", 2753),
    ("pg_amop", 2602),
    ("pg_amproc", 2603),
    ("pg_ts_parser", 3601),
    ("pg_ts_template", 3764),
    ("pg_ts_dict", 3600),
    ("pg_ts_config", 3602),
    ("pg_ts_config_map", 3603),
    ("pg_default_acl", 826),
    ("pg_conversion", 2607),
    ("pg_cast", 2605),
    ("pg_range", 3541),
    ("pg_transform", 3576),
    ("pg_event_trigger", 3466),
    ("pg_partitioned_table", 3350),
    ("pg_subscription", 6100),
    ("pg_largeobject_metadata", 2995),
    ("pg_seclabel", 3596),
    ("pg_shseclabel", 3592),
    ("pg_shdescription", 2396),
    ("pg_db_role_setting", 2964),
];

impl SystemView {
    /// The view for a (schema, name), if it is one.
    pub fn lookup(schema: Option<&str>, name: &str) -> Option<SystemView> {
        let find =
            |list: &[(&str, SystemView)]| list.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        match schema {
            None | Some("pg_catalog") => {
                if let Some(v) = find(PG_CATALOG) {
                    return Some(v);
                }
            }
            Some("information_schema") => return find(INFORMATION_SCHEMA),
            _ => {}
        }
        let view = match (schema, name) {
            (None | Some("public") | Some("isola"), "isola_stat_activity") => {
                SystemView::IsolaStatActivity
            }
            (None | Some("public") | Some("isola"), "isola_serialization_failures") => {
                SystemView::IsolaSerializationFailures
            }
            (None | Some("public") | Some("isola"), "isola_stat_wal") => SystemView::IsolaStatWal,
            (None | Some("public") | Some("isola"), "isola_locks") => SystemView::IsolaLocks,
            (None | Some("public") | Some("isola"), "isola_cluster") => SystemView::IsolaCluster,
            _ => return None,
        };
        Some(view)
    }

    /// The view's columns as `name:type` words. Types: `oid` (an object id, bigint here),
    /// `name`, `text`, `char` (PostgreSQL's one-byte `"char"`), `bool`, `int2`, `int4`, `int8`,
    /// `float4`, `timestamptz`, arrays `int2[]`, `oid[]`, `text[]`, `char[]` and `acl`
    /// (`aclitem[]`, read as `text[]`; always NULL here), and the vectors `int2vector` and
    /// `oidvector` (arrays printed `1 2`).
    pub fn spec(self) -> &'static str {
        use SystemView::*;
        match self {
            PgClass => {
                "oid:oid relname:name relnamespace:oid reltype:oid reloftype:oid relowner:oid \
                 relam:oid relfilenode:oid reltablespace:oid relpages:int4 reltuples:float4 \
                 relallvisible:int4 reltoastrelid:oid relhasindex:bool relisshared:bool \
                 relpersistence:char relkind:char relnatts:int2 relchecks:int2 \
                 relhasrules:bool relhastriggers:bool relhassubclass:bool relrowsecurity:bool \
                 relforcerowsecurity:bool relispopulated:bool relreplident:char \
                 relispartition:bool relrewrite:oid relfrozenxid:int8 relminmxid:int8 relacl:acl reloptions:text[] relpartbound:text"
            }
            PgNamespace => "oid:oid nspname:name nspowner:oid nspacl:acl",
            PgAttribute => {
                "attrelid:oid attname:name atttypid:oid attstattarget:int4 attlen:int2 \
                 attnum:int2 attndims:int4 attcacheoff:int4 atttypmod:int4 attbyval:bool \
                 attalign:char attstorage:char attcompression:char attnotnull:bool \
                 atthasdef:bool atthasmissing:bool attidentity:char attgenerated:char \
                 attisdropped:bool attislocal:bool attinhcount:int4 attcollation:oid \
                 attacl:acl attoptions:text[] attfdwoptions:text[] attmissingval:text[]"
            }
            PgAttrdef => "oid:oid adrelid:oid adnum:int2 adbin:text",
            PgConstraint => {
                "oid:oid conname:name connamespace:oid contype:char condeferrable:bool \
                 condeferred:bool convalidated:bool conrelid:oid contypid:oid conindid:oid \
                 conparentid:oid confrelid:oid confupdtype:char confdeltype:char \
                 confmatchtype:char conislocal:bool coninhcount:int4 connoinherit:bool \
                 conkey:int2[] confkey:int2[] conpfeqop:oid[] conppeqop:oid[] conffeqop:oid[] \
                 confdelsetcols:int2[] conexclop:oid[] conbin:text"
            }
            PgIndex => {
                "indexrelid:oid indrelid:oid indnatts:int2 indnkeyatts:int2 indisunique:bool \
                 indnullsnotdistinct:bool indisprimary:bool indisexclusion:bool \
                 indimmediate:bool indisclustered:bool indisvalid:bool indcheckxmin:bool \
                 indisready:bool indislive:bool indisreplident:bool indkey:int2vector \
                 indcollation:oidvector indclass:oidvector indoption:int2vector indexprs:text indpred:text"
            }
            PgAm => "oid:oid amname:name amhandler:text amtype:char",
            PgOpclass => {
                "oid:oid opcmethod:oid opcname:name opcnamespace:oid opcowner:oid \
                 opcfamily:oid opcintype:oid opcdefault:bool opckeytype:oid"
            }
            PgType => {
                "oid:oid typname:name typnamespace:oid typowner:oid typlen:int2 typbyval:bool \
                 typtype:char typcategory:char typispreferred:bool typisdefined:bool \
                 typdelim:char typrelid:oid typsubscript:text typelem:oid typarray:oid \
                 typinput:text typoutput:text typreceive:text typsend:text typmodin:text \
                 typmodout:text typanalyze:text typalign:char typstorage:char \
                 typnotnull:bool typbasetype:oid typtypmod:int4 typndims:int4 \
                 typcollation:oid typdefaultbin:text typdefault:text typacl:acl"
            }
            PgDepend => {
                "classid:oid objid:oid objsubid:int4 refclassid:oid refobjid:oid \
                 refobjsubid:int4 deptype:char"
            }
            PgDescription => "objoid:oid classoid:oid objsubid:int4 description:text",
            PgRoles => {
                "rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool \
                 rolcreatedb:bool rolcanlogin:bool rolreplication:bool rolconnlimit:int4 \
                 rolpassword:text rolvaliduntil:timestamptz rolbypassrls:bool rolconfig:text[] \
                 oid:oid"
            }
            PgUser => {
                "usename:name usesysid:oid usecreatedb:bool usesuper:bool userepl:bool \
                 usebypassrls:bool passwd:text valuntil:timestamptz useconfig:text[]"
            }
            PgAuthid => {
                "oid:oid rolname:name rolsuper:bool rolinherit:bool rolcreaterole:bool \
                 rolcreatedb:bool rolcanlogin:bool rolreplication:bool rolbypassrls:bool \
                 rolconnlimit:int4 rolpassword:text rolvaliduntil:timestamptz"
            }
            PgAuthMembers => "oid:oid roleid:oid member:oid grantor:oid admin_option:bool",
            PgDatabase => {
                "oid:oid datname:name datdba:oid encoding:int4 datlocprovider:char \
                 datistemplate:bool datallowconn:bool datconnlimit:int4 \
                 datfrozenxid:int8 datminmxid:int8 dattablespace:oid \
                 datcollate:text datctype:text daticulocale:text datcollversion:text \
                 datacl:acl"
            }
            PgInherits => "inhrelid:oid inhparent:oid inhseqno:int4 inhdetachpending:bool",
            PgProc => {
                "oid:oid proname:name pronamespace:oid proowner:oid prolang:oid \
                 procost:float4 prorows:float4 provariadic:oid prosupport:text prokind:char \
                 prosecdef:bool proleakproof:bool proisstrict:bool proretset:bool \
                 provolatile:char proparallel:char pronargs:int2 pronargdefaults:int2 \
                 prorettype:oid proargtypes:oidvector proallargtypes:oid[] proargmodes:char[] \
                 proargnames:text[] prosrc:text probin:text proconfig:text[] proacl:acl"
            }
            PgSequence => {
                "seqrelid:oid seqtypid:oid seqstart:int8 seqincrement:int8 seqmax:int8 \
                 seqmin:int8 seqcache:int8 seqcycle:bool"
            }
            PgSettings => {
                "name:text setting:text unit:text category:text short_desc:text \
                 extra_desc:text context:text vartype:text source:text min_val:text \
                 max_val:text enumvals:text[] boot_val:text reset_val:text sourcefile:text \
                 sourceline:int4 pending_restart:bool"
            }
            PgCollation => {
                "oid:oid collname:name collnamespace:oid collowner:oid collprovider:char \
                 collisdeterministic:bool collencoding:int4 collcollate:text collctype:text \
                 colliculocale:text collversion:text"
            }
            PgTablespace => "oid:oid spcname:name spcowner:oid spcacl:acl spcoptions:text[]",
            PgExtension => {
                "oid:oid extname:name extowner:oid extnamespace:oid extrelocatable:bool \
                 extversion:text extconfig:oid[] extcondition:text[]"
            }
            PgTrigger => {
                "oid:oid tgrelid:oid tgparentid:oid tgname:name tgfoid:oid tgtype:int2 \
                 tgenabled:char tgisinternal:bool tgconstrrelid:oid tgconstrindid:oid \
                 tgconstraint:oid tgdeferrable:bool tginitdeferred:bool tgnargs:int2 \
                 tgattr:int2vector tgargs:text tgqual:text tgoldtable:name tgnewtable:name"
            }
            PgRewrite => {
                "oid:oid rulename:name ev_class:oid ev_type:char ev_enabled:char \
                 is_instead:bool ev_qual:text ev_action:text"
            }
            PgPolicy => {
                "oid:oid polname:name polrelid:oid polcmd:char polpermissive:bool \
                 polroles:oid[] polqual:text polwithcheck:text"
            }
            PgStatisticExt => {
                "oid:oid stxrelid:oid stxname:name stxnamespace:oid stxowner:oid \
                 stxstattarget:int4 stxkeys:int2vector stxkind:char[] stxexprs:text"
            }
            PgPublication => {
                "oid:oid pubname:name pubowner:oid puballtables:bool pubinsert:bool \
                 pubupdate:bool pubdelete:bool pubtruncate:bool pubviaroot:bool"
            }
            PgPublicationRel => "oid:oid prpubid:oid prrelid:oid prqual:text prattrs:int2vector",
            PgPublicationNamespace => "oid:oid pnpubid:oid pnnspid:oid",
            PgEnum => "oid:oid enumtypid:oid enumsortorder:float4 enumlabel:name",
            PgForeignTable => "ftrelid:oid ftserver:oid ftoptions:text[]",
            PgForeignDataWrapper => {
                "oid:oid fdwname:name fdwowner:oid fdwhandler:oid fdwvalidator:oid fdwacl:acl fdwoptions:text[]"
            }
            PgForeignServer => {
                "oid:oid srvname:name srvowner:oid srvfdw:oid srvtype:text srvversion:text srvacl:acl srvoptions:text[]"
            }
            PgUserMapping => "oid:oid umuser:oid umserver:oid umoptions:text[]",
            PgInitPrivs => "objoid:oid classoid:oid objsubid:int4 privtype:char initprivs:acl",
            PgLanguage => {
                "oid:oid lanname:name lanowner:oid lanispl:bool lanpltrusted:bool lanplcallfoid:oid laninline:oid lanvalidator:oid lanacl:acl"
            }
            PgOperator => {
                "oid:oid oprname:name oprnamespace:oid oprowner:oid oprkind:char oprcanmerge:bool oprcanhash:bool oprleft:oid oprright:oid oprresult:oid oprcom:oid oprnegate:oid oprcode:oid oprrest:oid oprjoin:oid"
            }
            PgOpfamily => "oid:oid opfmethod:oid opfname:name opfnamespace:oid opfowner:oid",
            PgAmop => {
                "oid:oid amopfamily:oid amoplefttype:oid amoprighttype:oid amopstrategy:int2 amoppurpose:char amopopr:oid amopmethod:oid amopsortfamily:oid"
            }
            PgAmproc => {
                "oid:oid amprocfamily:oid amproclefttype:oid amprocrighttype:oid amprocnum:int2 amproc:oid"
            }
            PgTsParser => {
                "oid:oid prsname:name prsnamespace:oid prsstart:oid prstoken:oid prsend:oid prsheadline:oid prslextype:oid"
            }
            PgTsTemplate => "oid:oid tmplname:name tmplnamespace:oid tmplinit:oid tmpllexize:oid",
            PgTsDict => {
                "oid:oid dictname:name dictnamespace:oid dictowner:oid dicttemplate:oid dictinitoption:text"
            }
            PgTsConfig => "oid:oid cfgname:name cfgnamespace:oid cfgowner:oid cfgparser:oid",
            PgTsConfigMap => "mapcfg:oid maptokentype:int4 mapseqno:int4 mapdict:oid",
            PgDefaultAcl => {
                "oid:oid defaclrole:oid defaclnamespace:oid defaclobjtype:char defaclacl:acl"
            }
            PgConversion => {
                "oid:oid conname:name connamespace:oid conowner:oid conforencoding:int4 contoencoding:int4 conproc:oid condefault:bool"
            }
            PgCast => {
                "oid:oid castsource:oid casttarget:oid castfunc:oid castcontext:char castmethod:char"
            }
            PgRange => {
                "rngtypid:oid rngsubtype:oid rngmultitypid:oid rngcollation:oid rngsubopc:oid rngcanonical:oid rngsubdiff:oid"
            }
            PgTransform => "oid:oid trftype:oid trflang:oid trffromsql:oid trftosql:oid",
            PgEventTrigger => {
                "oid:oid evtname:name evtevent:name evtowner:oid evtfoid:oid evtenabled:char evttags:text[]"
            }
            PgPartitionedTable => {
                "partrelid:oid partstrat:char partnatts:int2 partdefid:oid partattrs:int2vector partclass:oidvector partcollation:oidvector partexprs:text"
            }
            PgSubscription => {
                "oid:oid subdbid:oid subskiplsn:text subname:name subowner:oid subenabled:bool subbinary:bool substream:bool subtwophasestate:char subdisableonerr:bool subconninfo:text subslotname:name subsynccommit:text subpublications:text[]"
            }
            PgLargeobjectMetadata => "oid:oid lomowner:oid lomacl:acl",
            PgSeclabel => "objoid:oid classoid:oid objsubid:int4 provider:text label:text",
            PgShseclabel => "objoid:oid classoid:oid provider:text label:text",
            PgSeclabels => {
                "objoid:oid classoid:oid objsubid:int4 objtype:text objnamespace:oid objname:text provider:text label:text"
            }
            PgShdescription => "objoid:oid classoid:oid description:text",
            PgDbRoleSetting => "setdatabase:oid setrole:oid setconfig:text[]",
            PgTables => {
                "schemaname:name tablename:name tableowner:name tablespace:name \
                 hasindexes:bool hasrules:bool hastriggers:bool rowsecurity:bool"
            }
            PgIndexes => {
                "schemaname:name tablename:name indexname:name tablespace:name indexdef:text"
            }
            PgSequences => {
                "schemaname:name sequencename:name sequenceowner:name data_type:text \
                 start_value:int8 min_value:int8 max_value:int8 increment_by:int8 \
                 cycle:bool cache_size:int8 last_value:int8"
            }
            PgViews => "schemaname:name viewname:name viewowner:name definition:text",
            PgStatActivity => {
                "pid:int4 usename:name datname:name application_name:text state:text \
                 query:text backend_xid:int8"
            }
            InfoTables => {
                "table_catalog:name table_schema:name table_name:name table_type:text \
                 self_referencing_column_name:name reference_generation:text \
                 user_defined_type_catalog:name user_defined_type_schema:name \
                 user_defined_type_name:name is_insertable_into:text is_typed:text \
                 commit_action:text"
            }
            InfoColumns => {
                "table_catalog:name table_schema:name table_name:name column_name:name \
                 ordinal_position:int4 column_default:text is_nullable:text data_type:text \
                 character_maximum_length:int4 character_octet_length:int4 \
                 numeric_precision:int4 numeric_precision_radix:int4 numeric_scale:int4 \
                 datetime_precision:int4 interval_type:text interval_precision:int4 \
                 character_set_catalog:name character_set_schema:name \
                 character_set_name:name collation_catalog:name collation_schema:name \
                 collation_name:name domain_catalog:name domain_schema:name \
                 domain_name:name udt_catalog:name udt_schema:name udt_name:name \
                 scope_catalog:name scope_schema:name scope_name:name \
                 maximum_cardinality:int4 dtd_identifier:name is_self_referencing:text \
                 is_identity:text identity_generation:text identity_start:text \
                 identity_increment:text identity_maximum:text identity_minimum:text \
                 identity_cycle:text is_generated:text generation_expression:text \
                 is_updatable:text"
            }
            InfoTableConstraints => {
                "constraint_catalog:name constraint_schema:name constraint_name:name \
                 table_catalog:name table_schema:name table_name:name constraint_type:text \
                 is_deferrable:text initially_deferred:text enforced:text \
                 nulls_distinct:text"
            }
            InfoKeyColumnUsage => {
                "constraint_catalog:name constraint_schema:name constraint_name:name \
                 table_catalog:name table_schema:name table_name:name column_name:name \
                 ordinal_position:int4 position_in_unique_constraint:int4"
            }
            InfoReferentialConstraints => {
                "constraint_catalog:name constraint_schema:name constraint_name:name \
                 unique_constraint_catalog:name unique_constraint_schema:name \
                 unique_constraint_name:name match_option:text update_rule:text \
                 delete_rule:text"
            }
            InfoConstraintColumnUsage => {
                "table_catalog:name table_schema:name table_name:name column_name:name \
                 constraint_catalog:name constraint_schema:name constraint_name:name"
            }
            InfoCheckConstraints => {
                "constraint_catalog:name constraint_schema:name constraint_name:name \
                 check_clause:text"
            }
            InfoSchemata => {
                "catalog_name:name schema_name:name schema_owner:name \
                 default_character_set_catalog:name default_character_set_schema:name \
                 default_character_set_name:name sql_path:text"
            }
            InfoSequences => {
                "sequence_catalog:name sequence_schema:name sequence_name:name \
                 data_type:text numeric_precision:int4 numeric_precision_radix:int4 \
                 numeric_scale:int4 start_value:text minimum_value:text maximum_value:text \
                 increment:text cycle_option:text"
            }
            InfoViews => {
                "table_catalog:name table_schema:name table_name:name view_definition:text \
                 check_option:text is_updatable:text is_insertable_into:text \
                 is_trigger_updatable:text is_trigger_deletable:text \
                 is_trigger_insertable_into:text"
            }
            IsolaStatActivity => {
                "pid:int4 usename:text state:text txn_id:int8 isolation_level:text \
                 read_only:bool waiting:bool query:text snapshot:int8 waiting_for:text"
            }
            PgPreparedStatements => {
                "name:text statement:text prepare_time:timestamptz parameter_types:text \
                 from_sql:bool generic_plans:int8 custom_plans:int8"
            }
            PgCursors => {
                "name:text statement:text is_holdable:bool is_binary:bool is_scrollable:bool \
                 creation_time:timestamptz"
            }
            IsolaLocks => "pid:int4 txn_id:int8 row:text mode:text granted:bool",
            IsolaSerializationFailures => "seq:int4 explanation:text",
            IsolaStatWal => "records:int8 frames:int8 syncs:int8 bytes:int8",
            IsolaCluster => {
                "node_id:int8 raft_addr:text role:text term:int8 leader_id:int8 \
                 applied_token:text durable_token:text lag_entries:int8 is_self:bool"
            }
        }
    }

    /// Whether the view belongs to `information_schema` (whose absent values are NULL; a
    /// `pg_catalog` view's absent numbers are 0 and its absent booleans false).
    pub fn is_information_schema(self) -> bool {
        INFORMATION_SCHEMA.iter().any(|(_, v)| *v == self)
    }

    /// The oid of the catalog this view is (`None` for the views that are no catalog table:
    /// `pg_roles`, `pg_tables`, `information_schema`, ...).
    pub fn catalog_oid(self) -> Option<i64> {
        let (name, _) = PG_CATALOG.iter().find(|(_, v)| *v == self)?;
        CATALOG_OIDS.iter().find(|(n, _)| n == name).map(|(_, oid)| *oid)
    }

    /// Whether the view never has rows in isola (what it lists, isola has none of:
    /// inheritance, triggers, rules, policies, publications, foreign data, operators,
    /// languages beyond the built-in ones, text search, casts, event triggers, ...): its
    /// columns are there for the tools that read it.
    pub fn always_empty(self) -> bool {
        use SystemView::*;
        matches!(
            self,
            PgAuthMembers
                | PgInherits
                | PgTrigger
                | PgRewrite
                | PgPolicy
                | PgStatisticExt
                | PgPublication
                | PgPublicationRel
                | PgPublicationNamespace
                | PgForeignTable
                | PgForeignDataWrapper
                | PgForeignServer
                | PgUserMapping
                | PgInitPrivs
                | PgLanguage
                | PgOperator
                | PgOpfamily
                | PgAmop
                | PgAmproc
                | PgTsParser
                | PgTsTemplate
                | PgTsDict
                | PgTsConfig
                | PgTsConfigMap
                | PgDefaultAcl
                | PgConversion
                | PgCast
                | PgRange
                | PgTransform
                | PgEventTrigger
                | PgPartitionedTable
                | PgSubscription
                | PgLargeobjectMetadata
                | PgSeclabel
                | PgShseclabel
                | PgSeclabels
                | PgShdescription
                | PgDbRoleSetting
        )
    }

    /// Whether column `column` is of PostgreSQL's type `name` (subscriptable byte by byte).
    pub fn is_name_column(self, column: &str) -> bool {
        self.spec().split_whitespace().any(|word| word == format!("{column}:name"))
    }

    /// Column names and types; a catalog table ends with its system column `tableoid` (which
    /// `*` leaves out).
    pub fn columns(self) -> Vec<(&'static str, SqlType)> {
        let mut columns: Vec<(&'static str, SqlType)> = self
            .spec()
            .split_whitespace()
            .map(|word| {
                let (name, ty) = word.split_once(':').unwrap_or((word, "text"));
                (name, column_type(ty))
            })
            .collect();
        if self.catalog_oid().is_some() {
            columns.push((TABLEOID, SqlType::Int8));
        }
        columns
    }
}

/// The system column of catalog tables that names the catalog (pg_dump reads it).
pub const TABLEOID: &str = "tableoid";

/// The SQL type a view column of spec type `ty` reads as.
fn column_type(ty: &str) -> SqlType {
    match ty {
        "oid" | "int8" => SqlType::Int8,
        "bool" => SqlType::Bool,
        "int2" => SqlType::Int2,
        "int4" => SqlType::Int4,
        "float4" => SqlType::Float4,
        "timestamptz" => SqlType::Timestamptz,
        "int2[]" => array_of(SqlType::Int2),
        "oid[]" => array_of(SqlType::Oid),
        "int2vector" => crate::sql::types::array::int2vector(),
        "oidvector" => crate::sql::types::array::oidvector(),
        "text[]" | "char[]" | "acl" => array_of(SqlType::Text),
        _ => SqlType::Text,
    }
}

/// The version isola reports as `server_version` (PostgreSQL-shaped, so drivers parse it).
pub const SERVER_VERSION: &str = "15.0";

/// What `SELECT version()` answers.
pub fn server_version_string() -> String {
    format!(
        "PostgreSQL 15.0 (isola {}) on {}-linux, compiled by rustc, 64-bit",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )
}
