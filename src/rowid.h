/*
 * rowid.h — how export and erasure identify a table's rows (see rowid.c).
 */
#ifndef PRIVACY_ROWID_H
#define PRIVACY_ROWID_H

#include "postgres.h"
#include "access/attnum.h"
#include "pg_config_manual.h"

/*
 * A table's row identity: its primary-key values on a Citus table (physical
 * addresses repeat across shards), "tableoid:ctid" on a local table.
 */
typedef struct RowIdentity
{
	Oid			relid;
	bool		by_key;			/* primary-key values; else tableoid:ctid */
	int			ncols;			/* primary-key columns (by_key) */
	char	   *cols[INDEX_MAX_KEYS];	/* quoted column names */
	char	   *types[INDEX_MAX_KEYS];	/* their types, schema-qualified */
} RowIdentity;

/* The identity of relid's rows; a Citus table without a primary key is refused. */
extern void row_identity_of(Oid relid, RowIdentity *id);

/* SQL expression (text) of a row's identity, for the table as alias. */
extern char *row_identity_expr(const RowIdentity *id, const char *alias);

/* SQL ORDER BY list putting rows of alias in a stable order. */
extern char *row_identity_order(const RowIdentity *id, const char *alias);

/*
 * SQL predicate selecting the rows of alias whose identities are keys (a
 * text[] Datum), with its parameters appended to types/vals from *nargs + 1
 * on (*nargs advanced).  The values are parameters, never SQL text.
 */
extern char *row_identity_match(const RowIdentity *id, const char *alias, Datum keys,
								int *nargs, Oid *types, Datum *vals);

/* Most parameters row_identity_match appends. */
#define ROW_IDENTITY_MAX_PARAMS INDEX_MAX_KEYS

#endif							/* PRIVACY_ROWID_H */
