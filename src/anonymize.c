/*
 * anonymize.c — static masking: a table's masking rules applied in place.
 *
 * CALL privacy.anonymize_table(tbl, batch) and CALL
 * privacy.anonymize_database(batch) rewrite every row of the tables with
 * masking rules (privacy.masking_rules, read through
 * privacy._subject_mask_rules: the rules are parsed and checked by the
 * masking module only) with UPDATE ... SET col = (rule), so that a copy of a
 * database can be handed to developers.
 *
 * - Safety lock: refused unless privacy.allow_static_masking is on AND set
 *   for this database (ALTER DATABASE ... SET): a session SET or a
 *   postgresql.conf setting alone is not enough, so that a script pointed at
 *   production by mistake stops before changing anything.
 * - Everything is checked before the first row changes: the caller owns every
 *   table; no masked column is a foreign key, or a key referenced by a
 *   foreign key other than ON UPDATE CASCADE / SET NULL / SET DEFAULT; a
 *   masked NOT NULL column gets no NULL; a masked column of a unique index
 *   (primary keys included) keeps its values distinct (GROUP BY the masked
 *   keys HAVING count(*) > 1, over every row).
 * - Rows change in batches of about `batch` rows, one physical page range at
 *   a time (TID range scans), each batch committed when the procedure is
 *   CALLed outside a transaction block (one transaction otherwise), with
 *   NOTICEs of progress.  Row versions the run wrote itself are recognized by
 *   their xmin and never masked twice, wherever they land in the table.
 * - Every statement runs as the table's owner in a security-restricted
 *   operation with search_path pinned: the rules, the table's triggers,
 *   defaults and constraints never run with the caller's rights.
 */
#include "postgres.h"

#include "compat.h"

#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "portability/instr_time.h"
#include "storage/bufmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "anonymize.h"
#include "audit.h"
#include "subject.h"
#include "util.h"

PG_FUNCTION_INFO_V1(privacy_anonymize_table);
PG_FUNCTION_INFO_V1(privacy_anonymize_database);

#define ALLOW_GUC "privacy.allow_static_masking"
/* work_mem (kB) of the checks before a run, at least. */
#define CHECK_WORK_MEM 131072
/* Seconds between two progress NOTICEs of one table. */
#define PROGRESS_EVERY 2.0

static bool allow_static_masking = false;

/* One table to mask, as checked before the run. */
typedef struct AnonTable
{
	Oid			relid;
	char	   *name;			/* qualified, quoted */
	Oid			owner;
	char		relkind;
	char	   *sets;			/* SET clause of the rules */
	List	   *leaves;			/* Oids of the tables whose rows change */
} AnonTable;

/* State of one run (survives the commits between batches). */
typedef struct AnonRun
{
	MemoryContext cxt;
	BatchCommits commits;		/* commits after each batch when CALLed */
	int			batch;
	TransactionId *xids;		/* transactions of this run so far */
	int			nxids;
	int			maxxids;
} AnonRun;

/* ----------------------------------------------------------------------
 * Checks
 * ---------------------------------------------------------------------- */

/* Is the allow setting on in this database's own settings (pg_db_role_setting)? */
static bool
allowed_for_database(void)
{
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(MyDatabaseId);
	bool		on = false;
	uint64		i;

	privacy_spi_check(SPI_connect(), SPI_OK_CONNECT, "connect to SPI");
	privacy_spi_check(SPI_execute_with_args("SELECT pg_catalog.substr(c, pg_catalog.strpos(c, '=') + 1) "
											"FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) c "
											"WHERE s.setdatabase OPERATOR(pg_catalog.=) $1 "
											"AND s.setrole OPERATOR(pg_catalog.=) 0 "
											"AND pg_catalog.lower(pg_catalog.split_part(c, '=', 1)) "
											"OPERATOR(pg_catalog.=) '" ALLOW_GUC "'",
											1, &argtype, &arg, NULL, true, 0),
					  SPI_OK_SELECT, "read the database's settings");
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bool		b;

		if (v != NULL && parse_bool(v, &b))
			on = b;
	}
	SPI_finish();
	return on;
}

/* Refuse unless static masking is allowed for this database and this session. */
static void
require_static_masking(const char *what)
{
	char	   *db = get_database_name(MyDatabaseId);
	bool		database_on = allowed_for_database();

	if (database_on && allow_static_masking)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s refused: static masking is not allowed in database \"%s\"", what, db),
			 database_on ?
			 errdetail("%s is set for the database but off in this session.", ALLOW_GUC) :
			 errdetail("Static masking rewrites personal columns in place, irreversibly; it runs only in a database "
					   "whose own settings allow it (a session SET is not enough)."),
			 errhint("In a copy made for development (CREATE DATABASE ... TEMPLATE ...), a superuser runs "
					 "ALTER DATABASE %s SET %s = on; then reconnect.",
					 quote_identifier(db), ALLOW_GUC)));
}

/* Run a query in the current SPI connection; error unless it returns rows. */
static void
spi_query(const char *sql, int nargs, Oid *types, Datum *vals)
{
	privacy_spi_check(SPI_execute_with_args(sql, nargs, types, vals, NULL, true, 0),
					  SPI_OK_SELECT, "run a catalog query");
}

/* Text of column col of row row of the last SPI result (NULL when null). */
static char *
spi_text(uint64 row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/*
 * Read a table's rules and check everything that can be checked before a row
 * changes (as the extension owner for the rules, as the table owner for its
 * data).  Allocated in the current memory context.
 */
static AnonTable *
anon_prepare(Oid relid)
{
	AnonTable  *t = palloc0(sizeof(AnonTable));
	MemoryContext cxt = CurrentMemoryContext;
	OwnerScope	scope;
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);
	StringInfoData notnull;
	StringInfoData ciphertexts;
	List	   *masked_cols = NIL;
	List	   *masked_exprs = NIL;
	uint64		i;

	privacy_require_table_owner(relid);
	t->relid = relid;

	/* the table, its rules and what the checks need, from the catalogs */
	privacy_owner_begin(&scope);
	spi_query("SELECT c.oid::pg_catalog.regclass::pg_catalog.text, c.relowner, c.relkind "
			  "FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) $1", 1, &argtype, &arg);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	t->name = MemoryContextStrdup(cxt, spi_text(0, 1));
	t->owner = (Oid) strtoul(spi_text(0, 2), NULL, 10);
	t->relkind = spi_text(0, 3)[0];
	if (t->relkind != RELKIND_RELATION && t->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", t->name)));

	spi_query("SELECT r.col, r.expr, a.attnotnull FROM privacy._subject_mask_rules($1) r "
			  "JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) $1 "
			  "AND a.attname OPERATOR(pg_catalog.=) r.col ORDER BY a.attnum", 1, &argtype, &arg);
	MemoryContextSwitchTo(cxt); /* what is kept outlives the SPI connections */
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table %s has no masking rules", t->name),
				 errhint("Set masking rules on its personal columns first (SECURITY LABEL FOR privacy ON COLUMN ... "
						 "or privacy.mask_column).")));
	initStringInfo(&notnull);
	initStringInfo(&ciphertexts);
	for (i = 0; i < SPI_processed; i++)
	{
		char	   *col = pstrdup(quote_identifier(spi_text(i, 1)));
		char	   *expr = pstrdup(spi_text(i, 2));

		masked_cols = lappend(masked_cols, col);
		masked_exprs = lappend(masked_exprs, expr);
		if (strcmp(spi_text(i, 3), "t") == 0)
			appendStringInfo(&notnull, "%s(%s) IS NULL", notnull.len > 0 ? " OR " : "", expr);
	}
	t->sets = privacy_masking_set_clause(relid, NULL);

	/* foreign keys: a masked column is no foreign key, and keys it holds cascade */
	spi_query("SELECT f.conname, f.conrelid::pg_catalog.regclass::pg_catalog.text, "
			  "f.conrelid OPERATOR(pg_catalog.=) $1 AND EXISTS (SELECT 1 FROM privacy._subject_mask_rules($1) r "
			  "  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) r.col "
			  "  WHERE a.attnum OPERATOR(pg_catalog.=) ANY (f.conkey)) AS referencing "
			  "FROM pg_catalog.pg_constraint f WHERE f.contype OPERATOR(pg_catalog.=) 'f' AND ("
			  " (f.conrelid OPERATOR(pg_catalog.=) $1 AND EXISTS (SELECT 1 FROM privacy._subject_mask_rules($1) r "
			  "   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) r.col "
			  "   WHERE a.attnum OPERATOR(pg_catalog.=) ANY (f.conkey)))"
			  " OR (f.confrelid OPERATOR(pg_catalog.=) $1 AND f.confupdtype OPERATOR(pg_catalog.<>) ALL ('{c,n,d}'::pg_catalog.\"char\"[]) "
			  "   AND EXISTS (SELECT 1 FROM privacy._subject_mask_rules($1) r "
			  "   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) r.col "
			  "   WHERE a.attnum OPERATOR(pg_catalog.=) ANY (f.confkey)))) "
			  "ORDER BY 1 LIMIT 1", 1, &argtype, &arg);
	if (SPI_processed > 0)
	{
		bool		referencing = strcmp(spi_text(0, 3), "t") == 0;

		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot anonymize table %s: masking rules change a column of foreign key %s of table %s",
						t->name, spi_text(0, 1), spi_text(0, 2)),
				 referencing ?
				 errdetail("Rows would no longer reference their rows.") :
				 errdetail("The referencing rows would be left without their keys (the foreign key is not ON UPDATE CASCADE)."),
				 errhint("Keys stay as they are in a masked copy: mask the attributes, not the keys, "
						 "or make the foreign key ON UPDATE CASCADE and mask only the referenced column.")));
	}

	/*
	 * protected (encrypted) masked columns: the rule sees the stored
	 * ciphertext, as in the masked views, and the protection trigger encrypts
	 * what it yields; a rule keeping the ciphertext format (fake_phone,
	 * partial, ...) would yield values that no longer decrypt: refused below
	 */
	spi_query("SELECT r.expr FROM privacy._subject_mask_rules($1) r JOIN privacy.protected_columns p "
			  "ON p.tbl OPERATOR(pg_catalog.=) $1 AND p.col OPERATOR(pg_catalog.=) r.col ORDER BY r.col",
			  1, &argtype, &arg);
	MemoryContextSwitchTo(cxt);
	for (i = 0; i < SPI_processed; i++)
		appendStringInfo(&ciphertexts, "%sprivacy.is_ciphertext((%s))",
						 ciphertexts.len > 0 ? " OR " : "", spi_text(i, 1));

	/*
	 * unique indexes over masked columns: key columns, or columns their
	 * expressions and predicates depend on (expression indexes cannot be
	 * checked)
	 */
	spi_query("SELECT i.indexrelid::pg_catalog.regclass::pg_catalog.text, i.indexprs IS NOT NULL, "
			  "pg_catalog.pg_get_expr(i.indpred, i.indrelid), "
			  "i.indnullsnotdistinct, "
			  "(SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ',' ORDER BY k.n) "
			  "   FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(att, n) "
			  "   JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid "
			  "    AND a.attnum OPERATOR(pg_catalog.=) k.att "
			  "  WHERE k.n OPERATOR(pg_catalog.<=) i.indnkeyatts) "
			  "FROM pg_catalog.pg_index i WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND i.indisunique "
			  "AND (EXISTS (SELECT 1 FROM privacy._subject_mask_rules($1) r JOIN pg_catalog.pg_attribute a "
			  "  ON a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) r.col "
			  "  WHERE a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey::pg_catalog.int2[])) "
			  "OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d "
			  "  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) $1 "
			  "   AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid "
			  "  JOIN privacy._subject_mask_rules($1) r ON r.col OPERATOR(pg_catalog.=) a.attname "
			  "  WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
			  "    AND d.objid OPERATOR(pg_catalog.=) i.indexrelid "
			  "    AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
			  "    AND d.refobjid OPERATOR(pg_catalog.=) $1)) "
			  "ORDER BY 1", 1, &argtype, &arg);
	MemoryContextSwitchTo(cxt);	/* (SPI calls return to their own context) */
	{
		uint64		nidx = SPI_processed;
		SPITupleTable *idx = SPI_tuptable;
		List	   *checks = NIL;
		List	   *indexes = NIL;
		ListCell   *lc;
		ListCell   *lc2;

		for (i = 0; i < nidx; i++)
		{
			char	   *iname = SPI_getvalue(idx->vals[i], idx->tupdesc, 1);
			bool		has_exprs = strcmp(SPI_getvalue(idx->vals[i], idx->tupdesc, 2), "t") == 0;
			char	   *pred = SPI_getvalue(idx->vals[i], idx->tupdesc, 3);
			bool		nulls_nd = strcmp(SPI_getvalue(idx->vals[i], idx->tupdesc, 4), "t") == 0;
			char	   *keys = SPI_getvalue(idx->vals[i], idx->tupdesc, 5);
			StringInfoData group;
			StringInfoData where;
			char	   *tok;
			char	   *save = NULL;

			if (has_exprs)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot anonymize table %s: unique index %s has an expression over a masked column",
								t->name, iname),
						 errdetail("Whether the masked values keep it unique cannot be checked before the change."),
						 errhint("Drop the index in the copy, anonymize, then create it again.")));
			initStringInfo(&group);
			initStringInfo(&where);
			appendStringInfoString(&where, pred ? psprintf("(%s)", pred) : "true");
			/* the index's key columns, masked ones through their rules */
			for (tok = strtok_r(keys, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			{
				const char *key = tok;

				forboth(lc, masked_cols, lc2, masked_exprs)
					if (strcmp((char *) lfirst(lc), tok) == 0)
						key = psprintf("(%s)", (char *) lfirst(lc2));
				appendStringInfo(&group, "%s%s", group.len > 0 ? ", " : "", key);
				if (!nulls_nd)
					appendStringInfo(&where, " AND %s IS NOT NULL", key);
			}
			checks = lappend(checks, MemoryContextStrdup(cxt,
														 psprintf("SELECT 1 FROM %s%s t WHERE %s GROUP BY %s "
																  "HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 1 LIMIT 1",
																  t->relkind == RELKIND_RELATION ? "ONLY " : "",
																  t->name, where.data, group.data)));
			indexes = lappend(indexes, MemoryContextStrdup(cxt, iname));
		}
		privacy_owner_end(&scope);

		/*
		 * the data checks, as the table's owner; the GROUP BY of a unique
		 * index over a big table spills to disk under a small work_mem
		 */
		privacy_role_scope_begin(t->owner, &scope);
		if (work_mem < CHECK_WORK_MEM)
			(void) set_config_option("work_mem", CppAsString2(CHECK_WORK_MEM), PGC_USERSET,
									 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
		forboth(lc, checks, lc2, indexes)
		{
			CHECK_FOR_INTERRUPTS();
			privacy_spi_check(SPI_execute((char *) lfirst(lc), true, 1), SPI_OK_SELECT,
							  "check a unique index");
			if (SPI_processed > 0)
				ereport(ERROR,
						(errcode(ERRCODE_UNIQUE_VIOLATION),
						 errmsg("cannot anonymize table %s: its masking rules would give two rows the same key in unique index %s",
								t->name, (char *) lfirst(lc2)),
						 errdetail("Nothing was changed."),
						 errhint("Mask unique columns with a function that keeps distinct values distinct "
								 "(privacy.fake_email, privacy.fake_phone, privacy.pseudonymize, privacy.tokenize).")));
		}
		if (notnull.len > 0)
		{
			privacy_spi_check(SPI_execute(psprintf("SELECT 1 FROM %s%s t WHERE %s LIMIT 1",
												   t->relkind == RELKIND_RELATION ? "ONLY " : "",
												   t->name, notnull.data), true, 1),
							  SPI_OK_SELECT, "check NOT NULL columns");
			if (SPI_processed > 0)
				ereport(ERROR,
						(errcode(ERRCODE_NOT_NULL_VIOLATION),
						 errmsg("cannot anonymize table %s: a masking rule gives NULL to a NOT NULL column", t->name),
						 errdetail("Nothing was changed.")));
		}
		if (ciphertexts.len > 0)
		{
			privacy_spi_check(SPI_execute(psprintf("SELECT 1 FROM %s%s t WHERE %s LIMIT 1",
												   t->relkind == RELKIND_RELATION ? "ONLY " : "",
												   t->name, ciphertexts.data), true, 1),
							  SPI_OK_SELECT, "check protected columns");
			if (SPI_processed > 0)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("cannot anonymize table %s: a masking rule of an encrypted column keeps the ciphertext format", t->name),
						 errdetail("Masking rules see what is stored, the ciphertext; what they yield is encrypted again, "
								   "so a rule must yield a new value, not an altered ciphertext. Nothing was changed."),
						 errhint("Use a rule such as privacy.pseudonymize(col), privacy.fake_email(col) or MASKED WITH VALUE '...' "
								 "on an encrypted column.")));
		}
		/* the tables whose rows change: the table, or the leaves of its partition tree */
		if (t->relkind == RELKIND_PARTITIONED_TABLE)
		{
			spi_query("SELECT p.relid::pg_catalog.oid FROM pg_catalog.pg_partition_tree($1) p "
					  "JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.relid "
					  "WHERE p.isleaf AND c.relkind OPERATOR(pg_catalog.=) 'r'", 1, &argtype, &arg);
			MemoryContextSwitchTo(cxt);
			for (i = 0; i < SPI_processed; i++)
				t->leaves = lappend_oid(t->leaves, (Oid) strtoul(spi_text(i, 1), NULL, 10));
		}
		else
		{
			MemoryContextSwitchTo(cxt);
			t->leaves = list_make1_oid(relid);
		}
		privacy_owner_end(&scope);
	}
	MemoryContextSwitchTo(cxt);
	return t;
}

/* Warn about protected (encrypted) columns of relid (InvalidOid: all) that have no masking rule. */
static void
warn_unmasked_protected(Oid relid)
{
	OwnerScope	scope;
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);
	uint64		i;

	privacy_owner_begin(&scope);
	spi_query("SELECT p.tbl::pg_catalog.text, p.col FROM privacy.protected_columns p "
			  "WHERE ($1 OPERATOR(pg_catalog.=) 0 OR p.tbl OPERATOR(pg_catalog.=) $1) "
			  "AND NOT EXISTS (SELECT 1 FROM privacy._subject_mask_rules(p.tbl) r WHERE r.col OPERATOR(pg_catalog.=) p.col) "
			  "ORDER BY 1, 2", 1, &argtype, &arg);
	for (i = 0; i < SPI_processed; i++)
		ereport(WARNING,
				(errmsg("column %s of table %s is encrypted and has no masking rule: it is left as it is",
						quote_identifier(spi_text(i, 2)), spi_text(i, 1)),
				 errdetail("Its ciphertexts still decrypt with this database's key ring."),
				 errhint("Give it a masking rule, or destroy the keys of the copy (privacy.destroy_key) once it is masked.")));
	privacy_owner_end(&scope);
}

/* ----------------------------------------------------------------------
 * The run
 * ---------------------------------------------------------------------- */

/* Commit the current batch (when the run commits) and start the next transaction. */
static void
anon_commit(AnonRun *run)
{
	TransactionId xid = GetCurrentTransactionIdIfAny();	/* (the xmin of our rows) */

	if (TransactionIdIsValid(xid) &&
		(run->nxids == 0 || run->xids[run->nxids - 1] != xid))
	{
		if (run->nxids == run->maxxids)
		{
			run->maxxids *= 2;
			run->xids = repalloc(run->xids, sizeof(TransactionId) * run->maxxids);
		}
		run->xids[run->nxids++] = xid;
	}
	privacy_batches_commit(&run->commits);
}

/* The run's transaction ids as an xid[] datum. */
static Datum
run_xids(AnonRun *run)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(run->nxids, 1));
	int			i;

	for (i = 0; i < run->nxids; i++)
		d[i] = TransactionIdGetDatum(run->xids[i]);
	return PointerGetDatum(construct_array(d, run->nxids, XIDOID, sizeof(TransactionId), true, TYPALIGN_INT));
}

/* Seconds since start. */
static double
seconds_since(instr_time start)
{
	instr_time	now;

	INSTR_TIME_SET_CURRENT(now);
	INSTR_TIME_SUBTRACT(now, start);
	return INSTR_TIME_GET_DOUBLE(now);
}

/*
 * Mask every row of one table (leaf by leaf, page range by page range) as
 * its owner; returns the number of rows changed.
 */
static int64
anon_table(AnonRun *run, AnonTable *t)
{
	int64		total = 0;
	instr_time	start;
	double		last_notice = 0;
	ListCell   *lc;

	INSTR_TIME_SET_CURRENT(start);
	foreach(lc, t->leaves)
	{
		Oid			leaf = lfirst_oid(lc);
		char	   *leafname;
		BlockNumber nblocks;
		BlockNumber lo = 0;
		double		density;
		Relation	rel;
		char	   *sql;
		OwnerScope	scope;

		/* pages at the start: row versions written later are the run's own */
		rel = try_table_open(leaf, AccessShareLock);
		if (rel == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("table with OID %u was dropped during the run", leaf)));
		nblocks = RelationGetNumberOfBlocks(rel);
		density = rel->rd_rel->relpages > 0 && rel->rd_rel->reltuples > 0 ?
			rel->rd_rel->reltuples / rel->rd_rel->relpages : 0;
		leafname = MemoryContextStrdup(run->cxt,
									   quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
																  RelationGetRelationName(rel)));
		table_close(rel, NoLock);
		sql = MemoryContextStrdup(run->cxt,
								  psprintf("UPDATE ONLY %s t SET %s WHERE ctid OPERATOR(pg_catalog.>=) $1 "
										   "AND ctid OPERATOR(pg_catalog.<) $2 "
										   "AND xmin OPERATOR(pg_catalog.<>) ALL ($3)", leafname, t->sets));

		while (lo < nblocks)
		{
			BlockNumber pages = density > 0 ? (BlockNumber) Max(run->batch / density, 1) : 1;
			BlockNumber hi = pages >= nblocks - lo ? nblocks : lo + pages;
			Oid			types[3] = {TIDOID, TIDOID, XIDARRAYOID};
			Datum		vals[3];
			ItemPointerData from;
			ItemPointerData to;
			uint64		n;

			CHECK_FOR_INTERRUPTS();
			ItemPointerSet(&from, lo, 0);
			ItemPointerSet(&to, hi, 0);
			vals[0] = PointerGetDatum(&from);
			vals[1] = PointerGetDatum(&to);
			vals[2] = run_xids(run);
			privacy_role_scope_begin(t->owner, &scope);
			privacy_spi_check(SPI_execute_with_args(sql, 3, types, vals, NULL, false, 0),
							  SPI_OK_UPDATE, "mask a batch of rows");
			n = SPI_processed;
			privacy_owner_end(&scope);
			pfree(DatumGetPointer(vals[2]));
			total += n;
			/* learn the rows per page (a range of nothing but dead rows: widen) */
			density = n > 0 ? (double) n / (hi - lo) : (density > 0 ? density / 4 : 0);
			lo = hi;
			anon_commit(run);
			if (seconds_since(start) - last_notice >= PROGRESS_EVERY && lo < nblocks)
			{
				last_notice = seconds_since(start);
				ereport(NOTICE,
						(errmsg("anonymizing %s: " INT64_FORMAT " rows masked, %s page %u of %u",
								t->name, total, leafname, lo, nblocks)));
			}
		}
	}
	ereport(NOTICE,
			(errmsg("anonymized %s: " INT64_FORMAT " rows masked in %.1f s", t->name, total,
					seconds_since(start))));
	privacy_audit("anonymize_table", t->name, NULL,
				  psprintf("{\"rows\": " INT64_FORMAT ", \"batch\": %d}", total, run->batch));
	anon_commit(run);
	return total;
}

/*
 * Start a run: the caller's context (a CALL outside a transaction block
 * commits each batch), the safety lock, SPI.
 */
static void
anon_begin(FunctionCallInfo fcinfo, AnonRun *run, const char *what, int batch)
{
	memset(run, 0, sizeof(AnonRun));
	if (batch < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch size must be positive, not %d", batch)));
	require_static_masking(what);
	run->commits.commit_each = fcinfo->context != NULL && IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;
	run->batch = batch;
	/* survives the commits: a child of the portal's context */
	run->cxt = AllocSetContextCreate(run->commits.commit_each ? TopMemoryContext : CurrentMemoryContext,
									 "privacy anonymize", ALLOCSET_DEFAULT_SIZES);
	run->maxxids = 64;
	run->xids = MemoryContextAlloc(run->cxt, sizeof(TransactionId) * run->maxxids);
	privacy_spi_check(SPI_connect_ext(run->commits.commit_each ? SPI_OPT_NONATOMIC : 0),
					  SPI_OK_CONNECT, "connect to SPI");
	privacy_batches_begin(&run->commits, run->commits.commit_each);
	if (!run->commits.commit_each)
		ereport(NOTICE,
				(errmsg("%s runs in the current transaction: batches are committed only when it is CALLed outside a transaction block",
						what)));
}

/* End a run, also on error (then the abort releases SPI and the snapshot). */
static void
anon_end(AnonRun *run)
{
	MemoryContextDelete(run->cxt);
	run->cxt = NULL;
}

/* Leave a run that succeeded: our snapshot, SPI. */
static void
anon_finish(AnonRun *run)
{
	privacy_batches_end(&run->commits);
	SPI_finish();
}

/* anonymize_table's run: check the table, then mask it. */
static void
anonymize_table_run(AnonRun *run, Oid relid)
{
	MemoryContext old = MemoryContextSwitchTo(run->cxt);
	AnonTable  *t = anon_prepare(relid);

	MemoryContextSwitchTo(old);
	warn_unmasked_protected(t->relid);
	(void) anon_table(run, t);
}

/* anonymize_database's run: check every table with rules, then mask them. */
static void
anonymize_database_run(AnonRun *run)
{
	MemoryContext old = MemoryContextSwitchTo(run->cxt);
	List	   *relids = NIL;
	List	   *tables = NIL;
	ListCell   *lc;
	OwnerScope	scope;
	int64		rows = 0;
	uint64		i;

	privacy_owner_begin(&scope);
	spi_query("SELECT DISTINCT r.tbl::pg_catalog.oid, r.tbl::pg_catalog.text FROM privacy.masking_rules r ORDER BY 2",
			  0, NULL, NULL);
	MemoryContextSwitchTo(run->cxt);
	for (i = 0; i < SPI_processed; i++)
		relids = lappend_oid(relids, (Oid) strtoul(spi_text(i, 1), NULL, 10));
	privacy_owner_end(&scope);
	/* every table checked before the first row changes */
	foreach(lc, relids)
		tables = lappend(tables, anon_prepare(lfirst_oid(lc)));
	MemoryContextSwitchTo(old);
	warn_unmasked_protected(InvalidOid);

	foreach(lc, tables)
		rows += anon_table(run, (AnonTable *) lfirst(lc));
	ereport(NOTICE,
			(errmsg("anonymized %d tables: " INT64_FORMAT " rows masked", list_length(tables), rows),
			 errhint("Old row versions keep the original values on disk until VACUUM removes them: "
					 "VACUUM the database before copying its files or handing it out.")));
}

/*
 * CALL privacy.anonymize_table(tbl regclass, batch int DEFAULT 10000): apply
 * the table's masking rules to every row, in place.
 */
Datum
privacy_anonymize_table(PG_FUNCTION_ARGS)
{
	AnonRun		run;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table and batch size must not be null")));
	anon_begin(fcinfo, &run, "privacy.anonymize_table", PG_GETARG_INT32(1));
	PG_TRY();
	{
		anonymize_table_run(&run, PG_GETARG_OID(0));
		anon_finish(&run);
	}
	PG_FINALLY();
	{
		anon_end(&run);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/*
 * CALL privacy.anonymize_database(batch int DEFAULT 10000): every table with
 * masking rules, each checked before any is changed.
 */
Datum
privacy_anonymize_database(PG_FUNCTION_ARGS)
{
	AnonRun		run;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("batch size must not be null")));
	anon_begin(fcinfo, &run, "privacy.anonymize_database", PG_GETARG_INT32(0));
	PG_TRY();
	{
		anonymize_database_run(&run);
		anon_finish(&run);
	}
	PG_FINALLY();
	{
		anon_end(&run);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/* GUC. */
void
AnonymizeInit(void)
{
	DefineCustomBoolVariable(ALLOW_GUC,
							 "Allows static masking (privacy.anonymize_table, anonymize_database) in this database.",
							 "Takes effect only when set for the database (ALTER DATABASE ... SET); never set it for production.",
							 &allow_static_masking,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}
