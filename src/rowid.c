/*
 * rowid.c — how export, erasure and legal holds identify a table's rows.
 *
 * A row's identity during one operation is text: "tableoid:ctid" on a local
 * table (found again by a TID scan), the JSON array of its primary-key values
 * as text on a Citus table, where physical addresses repeat across shards
 * and placements.  A Citus table of the subject graph without a primary key
 * is refused.  The predicates selecting rows by identity are built here from
 * the catalog, with the identities passed as parameters (never as SQL text):
 * on a Citus table `pk = ANY ($n::text[]::type[])` per key column (Citus
 * prunes shards on the distribution column) and, for a key of several
 * columns, `(a, b) IN (SELECT * FROM ROWS FROM (unnest(...), ...))`, which
 * Citus pushes down.
 */
#include "postgres.h"
#include "compat.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "citus.h"
#include "rowid.h"
#include "subject.h"
#include "util.h"

PG_FUNCTION_INFO_V1(privacy_row_identity);
PG_FUNCTION_INFO_V1(privacy_key_values);

/*
 * The identity of relid's rows: primary-key values on a Citus table (an
 * error 0A000 when it has no primary key), tableoid:ctid on a local table.
 * Only tables and partitioned tables have rows here (the subject graph holds
 * nothing else): a view, foreign table, sequence or index is an error 42809,
 * so that no row is read as its owner through, say, the owner's user mapping.
 */
void
row_identity_of(Oid relid, RowIdentity *id)
{
	const char *kind;
	char		relkind;
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);
	AttrNumber	attnums[INDEX_MAX_KEYS];
	int			n = 0;
	int			i;

	memset(id, 0, sizeof(*id));
	id->relid = relid;
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", privacy_qualified_name(relid)),
				 errdetail("Export, erasure and legal holds identify rows of tables and partitioned tables only.")));
	kind = privacy_citus_table_kind(relid);
	if (kind == NULL)
		return;
	id->by_key = true;
	/* the primary key's columns, from the catalog (no lock on the table) */
	privacy_spi_check(SPI_connect(), SPI_OK_CONNECT, "connect to SPI");
	privacy_spi_check(SPI_execute_with_args("SELECT k.n FROM pg_catalog.pg_index i "
											"CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::pg_catalog.int2[]) "
											"WITH ORDINALITY k(n, o) "
											"WHERE i.indrelid OPERATOR(pg_catalog.=) $1 AND i.indisprimary "
											"AND k.o OPERATOR(pg_catalog.<=) i.indnkeyatts ORDER BY k.o",
											1, &argtype, &arg, NULL, true, INDEX_MAX_KEYS),
					  SPI_OK_SELECT, "read the primary key");
	for (i = 0; i < (int) SPI_processed; i++)
	{
		bool		isnull;

		attnums[n++] = DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	for (i = 0; i < n; i++)
	{
		Oid			typid;
		int32		typmod;
		Oid			collid;

		get_atttypetypmodcoll(relid, attnums[i], &typid, &typmod, &collid);
		id->cols[i] = pstrdup(quote_identifier(get_attname(relid, attnums[i], false)));
		id->types[i] = format_type_extended(typid, typmod, FORMAT_TYPE_TYPEMOD_GIVEN | FORMAT_TYPE_FORCE_QUALIFY);
	}
	id->ncols = n;
	if (id->ncols == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("export and erasure of data subjects need a primary key on the Citus %s table \"%s\"",
						kind, privacy_qualified_name(relid)),
				 errdetail("On Citus tables the subject's rows are identified by their primary key: "
						   "physical row addresses repeat across shards."),
				 errhint("Add a primary key to the table (on a distributed table it includes the distribution column).")));
}

/* The key columns of alias, each as fmt (%1$s the alias, %2$s the column), comma-separated. */
static char *
key_column_list(const RowIdentity *id, const char *alias, const char *fmt)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < id->ncols; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, fmt, quote_identifier(alias), id->cols[i]);
	}
	return buf.data;
}

/* SQL expression (text) of a row's identity, for the table as alias. */
char *
row_identity_expr(const RowIdentity *id, const char *alias)
{
	if (!id->by_key)
		return psprintf("(%1$s.tableoid::pg_catalog.text OPERATOR(pg_catalog.||) ':' "
						"OPERATOR(pg_catalog.||) %1$s.ctid::pg_catalog.text)", quote_identifier(alias));
	return psprintf("pg_catalog.jsonb_build_array(%s)::pg_catalog.text",
					key_column_list(id, alias, "(%1$s.%2$s)::pg_catalog.text"));
}

/* SQL ORDER BY list putting rows of alias in a stable order. */
char *
row_identity_order(const RowIdentity *id, const char *alias)
{
	if (!id->by_key)
		return psprintf("%s.ctid", quote_identifier(alias));
	return key_column_list(id, alias, "%1$s.%2$s");
}

/*
 * The values of primary-key identities (JSON arrays of ncols texts), one
 * text[] per key column, into cols[].  A malformed identity is an error.
 */
static void
key_columns(const RowIdentity *id, Datum keys, Datum *cols)
{
	ArrayType  *arr = DatumGetArrayTypeP(keys);
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	int			i;
	int			c;
	ArrayBuildState *state[INDEX_MAX_KEYS];

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
	for (c = 0; c < id->ncols; c++)
		state[c] = initArrayResult(TEXTOID, CurrentMemoryContext, false);
	for (i = 0; i < n; i++)
	{
		Jsonb	   *jb = NULL;

		if (!enulls[i])
			jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(TextDatumGetCString(elems[i]))));
		if (jb == NULL || !JB_ROOT_IS_ARRAY(jb) || JB_ROOT_IS_SCALAR(jb) || JB_ROOT_COUNT(jb) != id->ncols)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("not a row identity of table \"%s\"", privacy_qualified_name(id->relid))));
		for (c = 0; c < id->ncols; c++)
		{
			JsonbValue *v = getIthJsonbValueFromContainer(&jb->root, c);

			if (v->type == jbvString)
				accumArrayResult(state[c], PointerGetDatum(cstring_to_text_with_len(v->val.string.val,
																					  v->val.string.len)),
								 false, TEXTOID, CurrentMemoryContext);
			else
				accumArrayResult(state[c], (Datum) 0, true, TEXTOID, CurrentMemoryContext);
		}
	}
	for (c = 0; c < id->ncols; c++)
		cols[c] = makeArrayResult(state[c], CurrentMemoryContext);
}

/* ctids (tid[]) of "tableoid:ctid" identities (text[]). */
static Datum
key_ctids(Datum keys)
{
	ArrayType  *arr = DatumGetArrayTypeP(keys);
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	int			i;
	Datum	   *tids;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
	tids = palloc(sizeof(Datum) * (n + 1));
	for (i = 0; i < n; i++)
	{
		char	   *k = enulls[i] ? NULL : TextDatumGetCString(elems[i]);
		char	   *colon = k ? strchr(k, ':') : NULL;

		if (colon == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("not a row identity: \"%s\"", k ? k : "NULL")));
		tids[i] = DirectFunctionCall1(tidin, CStringGetDatum(colon + 1));
	}
	return PointerGetDatum(construct_array(tids, n, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT));
}

/*
 * SQL predicate selecting the rows of alias whose identities are keys,
 * parameters appended from *nargs + 1 on.  Local tables: a TID scan, checked
 * against the whole identity (tableoid:ctid).  Citus tables: each key column
 * = ANY (its values, cast to its type as the reader), and for several key
 * columns the exact combinations.
 */
char *
row_identity_match(const RowIdentity *id, const char *alias, Datum keys,
				   int *nargs, Oid *types, Datum *vals)
{
	const char *a = quote_identifier(alias);
	StringInfoData buf;
	Datum		cols[INDEX_MAX_KEYS];
	int			first = *nargs + 1;
	int			c;

	initStringInfo(&buf);
	if (!id->by_key)
	{
		appendStringInfo(&buf, "%s.ctid OPERATOR(pg_catalog.=) ANY ($%d) AND %s OPERATOR(pg_catalog.=) ANY ($%d)",
						 a, first, row_identity_expr(id, alias), first + 1);
		types[*nargs] = TIDARRAYOID;
		vals[(*nargs)++] = key_ctids(keys);
		types[*nargs] = TEXTARRAYOID;
		vals[(*nargs)++] = keys;
		return buf.data;
	}
	key_columns(id, keys, cols);
	for (c = 0; c < id->ncols; c++)
	{
		appendStringInfo(&buf, "%s%s.%s OPERATOR(pg_catalog.=) ANY ($%d::pg_catalog.text[]::%s[])",
						 c ? " AND " : "", a, id->cols[c], first + c, id->types[c]);
		types[*nargs] = TEXTARRAYOID;
		vals[(*nargs)++] = cols[c];
	}
	if (id->ncols > 1)
	{
		appendStringInfo(&buf, " AND (%s) IN (SELECT * FROM ROWS FROM (", row_identity_order(id, alias));
		for (c = 0; c < id->ncols; c++)
			appendStringInfo(&buf, "%spg_catalog.unnest($%d::pg_catalog.text[]::%s[])", c ? ", " : "", first + c, id->types[c]);
		appendStringInfoString(&buf, "))");
	}
	return buf.data;
}

/*
 * privacy._row_identity(tbl): how export and erasure identify tbl's rows,
 * 'primary key' (Citus tables) or 'ctid'; refuses a Citus table without a
 * primary key.  Reads the catalog only.
 */
Datum
privacy_row_identity(PG_FUNCTION_ARGS)
{
	RowIdentity id;

	row_identity_of(PG_GETARG_OID(0), &id);
	PG_RETURN_TEXT_P(cstring_to_text(id.by_key ? "primary key" : "ctid"));
}

/*
 * privacy._key_values(tbl, cols, keys): the distinct values of columns cols
 * (as a JSON array of texts) of the rows of tbl with these identities, rows
 * whose columns are all NULL left out, for legal holds.  The caller needs
 * SELECT on the whole table, with no row-level security applying to it (so
 * nothing is read that the caller could not read itself); the rows are read
 * as the table's owner in a security-restricted operation with search_path
 * pinned, so the owner's code (casts of its types to text, domain checks of
 * the key types, policies) never runs with the caller's rights: the caller is
 * the owner of a retained table, possibly a superuser, and tbl a table of
 * another owner that it references.
 */
Datum
privacy_key_values(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	ArrayType  *names = PG_GETARG_ARRAYTYPE_P(1);
	RowIdentity id;
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	int			i;
	StringInfoData list;
	StringInfoData row;
	int			nargs = 0;
	Oid			types[ROW_IDENTITY_MAX_PARAMS];
	Datum		vals[ROW_IDENTITY_MAX_PARAMS];
	char	   *match;
	char	   *sql;
	Datum		result;
	bool		isnull;

	privacy_subject_table_access(relid, ACL_SELECT);
	row_identity_of(relid, &id);
	deconstruct_array(names, NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR, &elems, &enulls, &n);
	if (n < 1 || n > INDEX_MAX_KEYS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("between 1 and %d columns are needed", INDEX_MAX_KEYS)));
	initStringInfo(&list);
	initStringInfo(&row);
	for (i = 0; i < n; i++)
	{
		const char *col;

		if (enulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("column names must not be null")));
		col = quote_identifier(NameStr(*DatumGetName(elems[i])));
		appendStringInfo(&list, "%s(p.%s)::pg_catalog.text", i ? ", " : "", col);
		appendStringInfo(&row, "%sp.%s", i ? ", " : "", col);
	}
	match = row_identity_match(&id, "p", PG_GETARG_DATUM(2), &nargs, types, vals);
	sql = psprintf("SELECT pg_catalog.array_agg(DISTINCT pg_catalog.jsonb_build_array(%s)) FROM %s p "
				   "WHERE %s AND NOT (ROW(%s) IS NULL)",
				   list.data, privacy_qualified_name(relid), match, row.data);
	(void) privacy_exec_as(privacy_relation_owner(relid), sql, nargs, types, vals, NULL, true,
						   SPI_OK_SELECT, 1, &result, &isnull, NULL);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}
