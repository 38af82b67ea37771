/*
 * views.c — masking rules as security labels, masked views, masked roles.
 *
 * Security-label provider "privacy":
 *   - on a column:   MASKED WITH FUNCTION <expression>, MASKED WITH VALUE
 *                    <constant>, NOT MASKED;
 *   - on a role:     MASKED;
 *   - on a function: TRUSTED (superusers only): usable in masking rules.
 * A column label is parsed and checked when it is set, executing nothing:
 * the raw parse tree of "SELECT <expression>" may hold only column names,
 * constants, casts, operators of pg_catalog and schema-qualified function
 * calls; parse analysis against the table (search_path pinned) then checks
 * every function and operator it resolved to.
 *
 * privacy.refresh_masked_views() (src/sql/views.sql) turns the labels into
 * privacy.masking_rules and one security_barrier, security_invoker view per
 * labelled table in the masked schema (GUC privacy.masked_schema); event
 * triggers call it after DDL.  Masking rules call only functions of an
 * allow-list kept here, and are parsed as their table's owner.
 *
 * Enforcement does not rely on REVOKE alone: the ExecutorCheckPerms hook
 * refuses a masked session (masked session user, outer user or current
 * user: SET ROLE and SECURITY DEFINER functions do not unmask it) every
 * relation outside the masked schema that holds personal data, whatever was
 * granted to PUBLIC or to its groups, except a read of it brought by a
 * masked view of the same query.  Masked views being security_invoker, the
 * session's own grants and row-level security apply to that read.  What the
 * hook needs is cached per backend and reset by invalidations.
 *
 * Masked dumps: the ProcessUtility hook serves a masked session's "COPY
 * <table> TO" of a table with masking rules from its masked view (the same
 * columns, masked; what the session may read anyway) and copies the
 * extension's own tables as no rows, so that pg_dump run by a masked role
 * dumps the real schema with masked data; everything else a masked session
 * copies goes through the permission hook as before.
 */
#include "postgres.h"
#include "compat.h"

#include <ctype.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/relation.h"
#include "access/transam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/dependency.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_range.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_seclabel.h"
#include "catalog/pg_shseclabel.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/seclabel.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "rewrite/rewriteHandler.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "label_parse.h"
#include "citus.h"
#include "util.h"
#include "views.h"

#define PROVIDER "privacy"
/* Nesting limit when following inheritance and view dependencies. */
#define MAX_DEPTH 32

/* Relations of a query the permission hook checks in local arrays (more: palloc). */
#define MAX_CHECK_LOCAL 16

PG_FUNCTION_INFO_V1(privacy_mask_rule);

static char *masked_schema = NULL;

static ExecutorCheckPerms_hook_type prev_check_perms = NULL;
static ProcessUtility_hook_type prev_utility = NULL;

/* Set while this module rewrites labels itself (column renames). */
static bool rewriting_labels = false;

/* Roles labelled MASKED (pg_shseclabel has no syscache): a backend cache. */
static Oid *masked_roles = NULL;
static int	n_masked_roles = 0;
static bool masked_roles_valid = false;

/* Recent answers of privacy_role_is_masked, reset with masked_roles. */
static struct
{
	Oid			role;
	bool		masked;
}			role_answers[8];
static int	n_role_answers = 0;

/*
 * Invalidations seen (relcache, roles, memberships, schemas): a cache filled
 * by catalog lookups is valid only if none arrived meanwhile, and stays
 * invalid when the lookups failed.
 */
static uint64 inval_generation = 0;

/* The Oid of the masked schema, by name, until an invalidation. */
static char masked_nsp_name[NAMEDATALEN] = "";
static Oid	masked_nsp_oid = InvalidOid;
static bool masked_nsp_valid = false;

/* SECURITY DEFINER functions of schema privacy being run (fmgr hook). */
static int	extension_definer_depth = 0;
static fmgr_hook_type prev_fmgr_hook = NULL;

/* ----------------------------------------------------------------------
 * Labels
 * ---------------------------------------------------------------------- */

/*
 * Kind of a column label; *expr gets the expression of a MASKED one.  The
 * keywords are parsed by label_parse.c (fuzzed outside the server).
 */
static RuleKind
parse_column_label(const char *label, const char **expr)
{
	RuleKind	kind = privacy_label_parse_column(label, expr);

	if (kind != RULE_INVALID)
		return kind;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid masking rule \"%s\"", label),
			 errhint("A column label is MASKED WITH FUNCTION <schema>.<function>(...), "
					 "MASKED WITH VALUE <constant> or NOT MASKED.")));
	return RULE_NOT_MASKED;		/* not reached */
}

/* Refuse a masking expression, naming what is wrong with it. */
static void
refuse_expression(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s are not allowed in a masking rule", what),
			 errhint("A masking rule is one expression of column names, constants, casts, "
					 "pg_catalog operators and schema-qualified calls of privacy functions, "
					 "built-in functions or functions labelled TRUSTED.")));
}

/* Raw parse tree walker: only the node types a masking expression needs. */
static bool
raw_check_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	switch (nodeTag(node))
	{
		case T_A_Const:
		case T_TypeCast:
		case T_TypeName:
		case T_BoolExpr:
		case T_NullTest:
		case T_BooleanTest:
		case T_CaseExpr:
		case T_CaseWhen:
		case T_CoalesceExpr:
		case T_MinMaxExpr:
		case T_A_ArrayExpr:
		case T_RowExpr:
		case T_SQLValueFunction:
		case T_CollateClause:
		case T_A_Indirection:
		case T_A_Indices:
		case T_List:
		case T_String:
		case T_Integer:
			break;
		case T_ColumnRef:
			{
				ColumnRef  *c = (ColumnRef *) node;

				if (list_length(c->fields) != 1 || !IsA(linitial(c->fields), String))
					refuse_expression("qualified column references and *");
				break;
			}
		case T_FuncCall:
			{
				FuncCall   *f = (FuncCall *) node;

				if (f->agg_order || f->agg_filter || f->over || f->agg_star ||
					f->agg_distinct || f->agg_within_group)
					refuse_expression("aggregate and window functions");
				if (list_length(f->funcname) != 2)
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("function %s in a masking rule must be schema-qualified",
									NameListToString(f->funcname)),
							 errhint("Write privacy.%s(...) or pg_catalog.%s(...).",
									 strVal(llast(f->funcname)), strVal(llast(f->funcname)))));
				break;
			}
		case T_A_Expr:
			{
				A_Expr	   *e = (A_Expr *) node;

				if (list_length(e->name) > 1 &&
					strcmp(strVal(linitial(e->name)), "pg_catalog") != 0)
					refuse_expression("operators outside schema pg_catalog");
				break;
			}
		case T_SubLink:
			refuse_expression("subqueries");
			break;
		case T_ParamRef:
			refuse_expression("parameters");
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("unsupported element in a masking rule"),
					 errhint("A masking rule is one expression of column names, constants, casts, "
							 "operators and schema-qualified function calls.")));
	}
	return raw_expression_tree_walker(node, raw_check_walker, context);
}

/*
 * The masking allow-list, kept in the code (not in a table that a role with
 * rights on the extension's schema could change).  A masking rule may call:
 *  - the functions of schema privacy named in privacy_allowed: transformations
 *    of their arguments only (they read no relation given as an argument,
 *    decrypt nothing and write nothing);
 *  - the built-in functions of pg_catalog named in builtin_allowed, trusted
 *    one by one: text, number, date and network transformations;
 *  - built-in cast functions (a cast written in the rule) and the functions
 *    of built-in operators of pg_catalog;
 *  - functions a superuser labelled TRUSTED, while a superuser owns them.
 * Built-ins must also be IMMUTABLE or STABLE.  Anything else is refused when
 * the label is set: k_anonymity (takes a regclass and queries it),
 * table_to_xml, set_config, pg_read_file, nextval, ...
 */
static const char *const privacy_allowed[] = {
	"mask_email", "mask_phone", "mask_card", "partial", "truncate_ip",
	"generalize", "age_range", "noise", "redact", "pseudonymize", "tokenize",
	"fake_first_name", "fake_last_name", "fake_name", "fake_email",
	"fake_phone", "fake_city", "fake_company", "fake_iban",
	NULL
};

static const char *const builtin_allowed[] = {
	/* text */
	"left", "right", "substr", "substring", "lower", "upper", "initcap",
	"concat", "concat_ws", "replace", "regexp_replace", "translate",
	"overlay", "repeat", "lpad", "rpad", "btrim", "ltrim", "rtrim",
	"length", "char_length", "character_length", "octet_length",
	"split_part", "reverse", "strpos", "position", "starts_with",
	"md5", "sha224", "sha256", "sha384", "sha512", "encode", "decode",
	"to_char", "to_number", "to_date", "to_timestamp",
	/* numbers */
	"round", "trunc", "floor", "ceil", "ceiling", "abs", "sign", "div",
	"mod", "width_bucket",
	/* dates and times */
	"date_trunc", "date_part", "extract", "make_date", "date_bin",
	/* network addresses */
	"host", "network", "netmask", "masklen", "set_masklen", "broadcast",
	"family", "abbrev",
	/* ranges and NULLs */
	"int4range", "int8range", "numrange", "daterange", "tsrange",
	"tstzrange", "num_nulls", "num_nonnulls",
	NULL
};

/* Is name one of the NULL-terminated list? */
static bool
name_in_list(const char *name, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(name, *list) == 0)
			return true;
	return false;
}

/* Has a superuser labelled function funcid TRUSTED, and does a superuser own it? */
static bool
function_is_trusted(Oid funcid, Oid owner)
{
	ObjectAddress addr;

	ObjectAddressSet(addr, ProcedureRelationId, funcid);
	return superuser_arg(owner) && privacy_label_is(GetSecurityLabel(&addr, PROVIDER), "TRUSTED");
}

/* Owner of function funcid. */
static Oid
function_owner(Oid funcid)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", funcid);
	owner = ((Form_pg_proc) GETSTRUCT(tup))->proowner;
	ReleaseSysCache(tup);
	return owner;
}

/* May PUBLIC execute function funcid? */
static bool
public_may_execute(Oid funcid)
{
	return object_aclcheck(ProcedureRelationId, funcid, ACL_ID_PUBLIC, ACL_EXECUTE) == ACLCHECK_OK;
}

/*
 * Refuse a function that a masking rule must not call (see the allow-list
 * above).  as_cast: the function implements a cast or an operator of
 * pg_catalog, which any built-in function may.
 */
static void
check_function(Oid funcid, bool as_cast)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc p;
	const char *problem = NULL;
	bool		builtin;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", funcid);
	p = (Form_pg_proc) GETSTRUCT(tup);
	builtin = p->pronamespace == PG_CATALOG_NAMESPACE && funcid < FirstNormalObjectId;
	if (function_is_trusted(funcid, p->proowner))
		problem = NULL;
	else if (p->proretset || p->prokind != PROKIND_FUNCTION)
		problem = "It is not a plain function returning one value.";
	else if (builtin && (as_cast || name_in_list(NameStr(p->proname), builtin_allowed)))
	{
		if (p->provolatile == PROVOLATILE_VOLATILE)
			problem = "Built-in functions in masking rules must be IMMUTABLE or STABLE.";
	}
	else if (p->pronamespace == privacy_schema_oid(true) &&
			 name_in_list(NameStr(p->proname), privacy_allowed))
	{
		if (!public_may_execute(funcid))
			problem = "It is not executable by PUBLIC.";
	}
	else
		problem = "It is not on the masking allow-list: the masking functions of schema privacy, "
			"built-in transformations trusted one by one, and functions owned and labelled TRUSTED by a superuser.";
	ReleaseSysCache(tup);
	if (problem)
	{
		char	   *name = format_procedure_qualified(funcid);

		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("function %s cannot be used in a masking rule", name),
				 errdetail_internal("%s", problem),
				 errhint("A superuser may run SECURITY LABEL FOR privacy ON FUNCTION %s IS 'TRUSTED' "
						 "on a function a superuser owns.", name)));
	}
}

/* Refuse an operator outside pg_catalog, then check its function. */
static void
check_operator(Oid opno, Oid funcid)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Oid			nsp;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", opno);
	nsp = ((Form_pg_operator) GETSTRUCT(tup))->oprnamespace;
	ReleaseSysCache(tup);
	if (nsp != PG_CATALOG_NAMESPACE)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("operator %s cannot be used in a masking rule",
						format_operator_qualified(opno)),
				 errdetail("Only operators of schema pg_catalog are allowed.")));
	check_function(funcid, funcid < FirstNormalObjectId);
}

/*
 * Refuse a cast to a domain that its owner may change: its CHECK constraints
 * run whatever functions they name, with the rights of whoever evaluates the
 * masking rule.  Domains of pg_catalog and of superusers are accepted.
 */
static void
check_domain(Oid typid)
{
	HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	Form_pg_type t;
	bool		ok;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for type %u", typid);
	t = (Form_pg_type) GETSTRUCT(tup);
	ok = t->typnamespace == PG_CATALOG_NAMESPACE || superuser_arg(t->typowner);
	ReleaseSysCache(tup);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("domain %s cannot be used in a masking rule", format_type_be_qualified(typid)),
				 errdetail("Only domains owned by a superuser are allowed: a domain's constraints run its owner's functions.")));
}

/*
 * Is a value of type typid made without running code an ordinary role wrote?
 * Built-in types, enums and base types (their I/O functions are C, made by a
 * superuser) are; a domain only when a superuser owns it (its constraints
 * run) and its base type is; composite, array and range types when every
 * type they contain is (record_in runs the input function of each column,
 * a domain's constraints included).
 */
static bool
type_is_trusted(Oid typid, int depth)
{
	HeapTuple	tup;
	Form_pg_type t;
	bool		ok = true;
	Oid			inner = InvalidOid;
	Oid			relid = InvalidOid;

	if (typid < FirstNormalObjectId)
		return true;
	if (depth > MAX_DEPTH)
		return false;
	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(typid));
	if (!HeapTupleIsValid(tup))
		return false;
	t = (Form_pg_type) GETSTRUCT(tup);
	switch (t->typtype)
	{
		case TYPTYPE_DOMAIN:
			ok = superuser_arg(t->typowner);
			inner = t->typbasetype;
			break;
		case TYPTYPE_COMPOSITE:
			relid = t->typrelid;
			break;
		case TYPTYPE_RANGE:
			inner = get_range_subtype(typid);
			break;
		case TYPTYPE_MULTIRANGE:
			inner = get_multirange_range(typid);
			break;
		default:
			if (OidIsValid(t->typelem) && IsTrueArrayType(t))
				inner = t->typelem;
			break;
	}
	ReleaseSysCache(tup);
	if (ok && OidIsValid(inner))
		ok = type_is_trusted(inner, depth + 1);
	if (ok && OidIsValid(relid))
	{
		Relation	rel = relation_open(relid, AccessShareLock);
		TupleDesc	desc = RelationGetDescr(rel);
		int			i;

		for (i = 0; ok && i < desc->natts; i++)
			if (!TupleDescAttr(desc, i)->attisdropped)
				ok = type_is_trusted(TupleDescAttr(desc, i)->atttypid, depth + 1);
		relation_close(rel, AccessShareLock);
	}
	return ok;
}

/* Refuse a constant or a conversion to a type whose values run an ordinary role's code. */
static void
check_value_type(Oid typid)
{
	if (!type_is_trusted(typid, 0))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("type %s cannot be used for a constant or a cast in a masking rule",
						format_type_be_qualified(typid)),
				 errdetail("Making a value of it runs code an ordinary role wrote (a domain's constraints, in it or in one of its fields).")));
}

/* Analyzed expression walker: every function and operator it calls. */
static bool
rule_check_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	switch (nodeTag(node))
	{
		case T_Var:
			if (((Var *) node)->varattno <= 0)
				refuse_expression("whole-row and system column references");
			break;
		case T_FuncExpr:
			{
				FuncExpr   *f = (FuncExpr *) node;

				check_function(f->funcid, f->funcformat == COERCE_EXPLICIT_CAST ||
							   f->funcformat == COERCE_IMPLICIT_CAST);
				break;
			}
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			set_opfuncid((OpExpr *) node);
			check_operator(((OpExpr *) node)->opno, ((OpExpr *) node)->opfuncid);
			break;
		case T_ScalarArrayOpExpr:
			set_sa_opfuncid((ScalarArrayOpExpr *) node);
			check_operator(((ScalarArrayOpExpr *) node)->opno,
						   ((ScalarArrayOpExpr *) node)->opfuncid);
			break;
		case T_RowCompareExpr:
			{
				ListCell   *lc;

				foreach(lc, ((RowCompareExpr *) node)->opnos)
					check_operator(lfirst_oid(lc), get_opcode(lfirst_oid(lc)));
				break;
			}
		case T_CoerceToDomain:
			check_domain(((CoerceToDomain *) node)->resulttype);
			break;
		case T_Const:
			/* re-parsed when the view is made: its input function runs again */
			if (!((Const *) node)->constisnull)
				check_value_type(((Const *) node)->consttype);
			break;
		case T_CoerceViaIO:
			check_value_type(((CoerceViaIO *) node)->resulttype);
			break;
		case T_ArrayCoerceExpr:
			check_value_type(((ArrayCoerceExpr *) node)->resulttype);
			break;
		case T_Aggref:
		case T_WindowFunc:
		case T_GroupingFunc:
			refuse_expression("aggregate and window functions");
			break;
		case T_SubLink:
			refuse_expression("subqueries");
			break;
		case T_Param:
			refuse_expression("parameters");
			break;
		default:
			break;
	}
	return expression_tree_walker(node, rule_check_walker, context);
}

/* Pin search_path to pg_catalog, pg_temp; returns the GUC nest level to restore. */
static int
pin_search_path(void)
{
	int			nest = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

/* Which column a rule being checked belongs to, for error contexts. */
typedef struct RuleContext
{
	Oid			relid;
	const char *column;
	const char *sql;			/* "SELECT <expression>" being parsed */
} RuleContext;

/*
 * Error context line of a rule check; a syntax error position points into
 * the parsed "SELECT <expression>", not into the caller's statement.
 */
static void
rule_error_context(void *arg)
{
	RuleContext *rc = (RuleContext *) arg;
	int			pos = geterrposition();

	if (pos > 0 && rc->sql != NULL)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(rc->sql);
	}
	errcontext("masking rule of column \"%s\" of table \"%s\"",
			   rc->column, get_rel_name(rc->relid));
}

/* "SELECT <expr>" as one raw SelectStmt holding only that expression. */
static RawStmt *
parse_single_expression(const char *sql, bool value_only)
{
	List	   *stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	RawStmt    *raw;
	SelectStmt *sel;
	ResTarget  *target;
	Node	   *n;

	if (list_length(stmts) != 1)
		refuse_expression("several statements");
	raw = linitial_node(RawStmt, stmts);
	sel = (SelectStmt *) raw->stmt;
	if (raw->stmt_len != 0 || !IsA(sel, SelectStmt) || sel->op != SETOP_NONE ||
		list_length(sel->targetList) != 1 || sel->distinctClause || sel->intoClause ||
		sel->fromClause || sel->whereClause || sel->groupClause || sel->havingClause ||
		sel->windowClause || sel->valuesLists || sel->sortClause || sel->limitOffset ||
		sel->limitCount || sel->lockingClause || sel->withClause)
		refuse_expression("clauses, several expressions and several statements");
	target = linitial_node(ResTarget, sel->targetList);
	/* the expression must start right after "SELECT " and carry no alias */
	if (target->name != NULL || target->indirection != NIL || target->location != 7)
		refuse_expression("aliases and select options");
	(void) raw_check_walker(target->val, NULL);
	if (value_only)
	{
		for (n = target->val; IsA(n, TypeCast); n = ((TypeCast *) n)->arg)
			;
		if (!IsA(n, A_Const))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("MASKED WITH VALUE takes a constant"),
					 errhint("Use MASKED WITH FUNCTION for an expression.")));
	}
	return raw;
}

/*
 * Check a column label and return the masking expression it sets, deparsed
 * over the table's bare column names with search_path pinned (constants of
 * MASKED WITH VALUE cast to the column's type); NULL for NOT MASKED.
 * Nothing of the expression is executed.
 */
static char *
column_rule(Oid relid, AttrNumber attnum, const char *label)
{
	const char *expr = NULL;
	RuleKind	kind = parse_column_label(label, &expr);
	RuleContext rc = {relid, get_attname(relid, attnum, false), NULL};
	ErrorContextCallback errcb;
	int			nest;
	char	   *sql;
	RawStmt    *raw;
	SelectStmt *sel;
	Query	   *query;
	Node	   *node;
	char	   *result;

	if (kind == RULE_NOT_MASKED)
		return NULL;
	errcb.callback = rule_error_context;
	errcb.arg = &rc;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	nest = pin_search_path();

	sql = psprintf("SELECT %s", expr);
	rc.sql = sql;
	raw = parse_single_expression(sql, kind == RULE_VALUE);
	sel = (SelectStmt *) raw->stmt;
	if (kind == RULE_VALUE)
	{
		/* a constant of the column's type */
		ResTarget  *target = linitial_node(ResTarget, sel->targetList);
		TypeCast   *cast = makeNode(TypeCast);
		Oid			typid;
		int32		typmod;
		Oid			collid;

		get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
		cast->arg = target->val;
		cast->typeName = makeTypeNameFromOid(typid, typmod);
		cast->location = -1;
		target->val = (Node *) cast;
		target->name = "value";	/* a TypeName by OID has no name to show */
	}
	sel->fromClause = list_make1(makeRangeVar(get_namespace_name(get_rel_namespace(relid)),
											  get_rel_name(relid), -1));
	query = parse_analyze_fixedparams(raw, sql, NULL, 0, NULL);
	if (query->hasAggs || query->hasWindowFuncs || query->hasSubLinks || query->hasTargetSRFs)
		refuse_expression("aggregates, subqueries and set-returning functions");
	node = (Node *) linitial_node(TargetEntry, query->targetList)->expr;

	(void) rule_check_walker(node, NULL);
	result = deparse_expression(node, deparse_context_for(get_rel_name(relid), relid),
								false, false);

	AtEOXact_GUC(true, nest);
	error_context_stack = errcb.previous;
	return result;
}

/*
 * column_rule as the table's owner in a security-restricted operation:
 * parsing a rule converts its constants (input functions, a domain's checks
 * inside a composite value), which must never run with the rights of whoever
 * sets the label or refreshes the views.  The rule is copied out of the scope.
 */
static char *
column_rule_as_owner(Oid relid, AttrNumber attnum, const char *label)
{
	OwnerScope	scope;
	char	   *rule;
	MemoryContext cxt = CurrentMemoryContext;

	privacy_role_scope_begin(privacy_relation_owner(relid), &scope);
	rule = column_rule(relid, attnum, label);
	if (rule != NULL)
		rule = MemoryContextStrdup(cxt, rule);
	privacy_owner_end(&scope);
	return rule;
}

/*
 * privacy._mask_rule(tbl regclass, col name, label text) RETURNS text: the
 * checked, deparsed masking expression of a column label; NULL for NOT
 * MASKED.  Used by refresh_masked_views, which checks every label again.
 */
Datum
privacy_mask_rule(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *col = NameStr(*PG_GETARG_NAME(1));
	AttrNumber	attnum = get_attnum(relid, col);
	char	   *rule;

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", col, get_rel_name(relid))));
	rule = column_rule_as_owner(relid, attnum, text_to_cstring(PG_GETARG_TEXT_PP(2)));
	if (rule == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(rule));
}

/* Masking rules go on columns of ordinary or partitioned tables, not partitions. */
static void
check_rule_table(Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", get_rel_name(relid)),
				 errdetail("Masking rules are set on columns of tables.")));
	if (get_rel_relispartition(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot set a masking rule on partition \"%s\"", get_rel_name(relid)),
				 errhint("Set it on the partitioned table: its rules hold for every partition.")));
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cannot set a masking rule on temporary table \"%s\"", get_rel_name(relid))));
}

/*
 * Grant a role labelled MASKED what it needs in this database (USAGE on the
 * masked schema, SELECT on its views, its search_path), or take it back.
 * Other databases catch up at their next refresh_masked_views().
 */
static void
setup_masked_role(Oid roleid, bool masked)
{
	Oid			types[2] = {OIDOID, BOOLOID};
	Datum		values[2] = {ObjectIdGetDatum(roleid), BoolGetDatum(masked)};

	if (!OidIsValid(privacy_schema_oid(true)))
		return;
	(void) privacy_exec_as(privacy_owner_oid(), "SELECT privacy._setup_masked_role($1, $2)", 2, types, values,
						   NULL, false, SPI_OK_SELECT, 0, NULL, NULL, NULL);
}

/* Security-label hook of provider "privacy": check a label before it is stored. */
static void
views_object_relabel(const ObjectAddress *object, const char *seclabel)
{
	masked_roles_valid = false;
	if (rewriting_labels)
		return;
	switch (object->classId)
	{
		case RelationRelationId:
			if (object->objectSubId == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("masking rules are set on columns, not on tables"),
						 errhint("Use SECURITY LABEL FOR privacy ON COLUMN table.column IS '...'.")));
			if (seclabel != NULL)
			{
				privacy_citus_refuse(object->objectId, "Masking rules (SECURITY LABEL FOR privacy)",
									 "Masked roles would need SELECT on the table for Citus's shard queries.");
				check_rule_table(object->objectId);
				(void) column_rule_as_owner(object->objectId, object->objectSubId, seclabel);
			}
			break;
		case AuthIdRelationId:
			if (seclabel != NULL && !privacy_label_is(seclabel, "MASKED"))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid role label \"%s\"", seclabel),
						 errhint("The only role label of provider privacy is MASKED.")));
			if (seclabel != NULL && superuser_arg(object->objectId))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("superuser \"%s\" cannot be masked",
								GetUserNameFromId(object->objectId, false))));
			setup_masked_role(object->objectId, seclabel != NULL);
			break;
		case ProcedureRelationId:
			if (!superuser())
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("must be superuser to label a function for provider privacy")));
			if (seclabel != NULL && !privacy_label_is(seclabel, "TRUSTED"))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid function label \"%s\"", seclabel),
						 errhint("The only function label of provider privacy is TRUSTED.")));
			/* its owner could change its body: only functions of superusers */
			if (seclabel != NULL && !superuser_arg(function_owner(object->objectId)))
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("function %s is not owned by a superuser",
								format_procedure_qualified(object->objectId)),
						 errdetail("Its owner could change what it does after it is trusted.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("provider privacy labels only columns, roles and functions")));
	}
}

/* ----------------------------------------------------------------------
 * Masked roles
 * ---------------------------------------------------------------------- */

/*
 * Read the roles labelled MASKED into the backend cache.  It stays valid
 * until an invalidation: a role label changed anywhere (the label hook sends
 * a relcache invalidation to every backend), a role or a membership changed.
 */
static void
load_masked_roles(void)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	int			cap = 8;
	uint64		generation = inval_generation;

	if (masked_roles_valid)
		return;
	if (masked_roles == NULL)
		masked_roles = MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * cap);
	else
		masked_roles = repalloc(masked_roles, sizeof(Oid) * cap);
	n_masked_roles = 0;
	n_role_answers = 0;

	rel = table_open(SharedSecLabelRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_shseclabel sl = (Form_pg_shseclabel) GETSTRUCT(tup);
		bool		isnull;
		Datum		provider;
		Datum		label;

		if (sl->classoid != AuthIdRelationId)
			continue;
		provider = heap_getattr(tup, Anum_pg_shseclabel_provider, RelationGetDescr(rel), &isnull);
		if (isnull || strcmp(TextDatumGetCString(provider), PROVIDER) != 0)
			continue;
		label = heap_getattr(tup, Anum_pg_shseclabel_label, RelationGetDescr(rel), &isnull);
		if (isnull || !privacy_label_is(TextDatumGetCString(label), "MASKED"))
			continue;
		if (n_masked_roles == cap)
		{
			cap *= 2;
			masked_roles = repalloc(masked_roles, sizeof(Oid) * cap);
		}
		masked_roles[n_masked_roles++] = sl->objoid;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	/* valid unless an invalidation arrived during the scan (or it failed) */
	masked_roles_valid = generation == inval_generation;
}

/* Is roleid masked: labelled MASKED or member of such a role (superusers never are)? */
bool
privacy_role_is_masked(Oid roleid)
{
	int			i;
	bool		masked = false;

	if (!OidIsValid(roleid))
		return false;
	load_masked_roles();
	if (n_masked_roles == 0)
		return false;
	for (i = 0; i < n_role_answers; i++)
		if (role_answers[i].role == roleid)
			return role_answers[i].masked;
	if (!superuser_arg(roleid))
		for (i = 0; i < n_masked_roles && !masked; i++)
			masked = masked_roles[i] == roleid || is_member_of_role_nosuper(roleid, masked_roles[i]);
	/* remember the answer, unless an invalidation came meanwhile */
	if (masked_roles_valid && n_role_answers < lengthof(role_answers))
	{
		role_answers[n_role_answers].role = roleid;
		role_answers[n_role_answers].masked = masked;
		n_role_answers++;
	}
	return masked;
}

/*
 * Is this an operation of the extension itself: the current user is the
 * extension owner, in one of its owner scopes (a security-restricted
 * operation) or in one of its SECURITY DEFINER functions?  Code written by
 * ordinary roles never runs so: table-owner scopes run as the table owner,
 * foreign-key checks and SECURITY DEFINER functions of other roles as their
 * owners.
 */
static bool
in_extension_operation(void)
{
	Oid			userid = GetUserId();

	if (!OidIsValid(privacy_schema_oid(true)) || userid != privacy_owner_oid())
		return false;
	return InSecurityRestrictedOperation() || extension_definer_depth > 0;
}

/*
 * Is the session masked?  It is when the session user (who logged in, or
 * whom SET SESSION AUTHORIZATION chose), the outer user (SET ROLE) or the
 * current user (SECURITY DEFINER functions) is masked: a masked login stays
 * masked whatever role it switches to, SET ROLE to an unmasked group and
 * SECURITY DEFINER functions of other roles included.  The one exception is
 * the extension's own operations (in_extension_operation).
 */
static bool
session_is_masked(void)
{
	load_masked_roles();
	if (n_masked_roles == 0)
		return false;
	if (!privacy_role_is_masked(GetSessionUserId()) &&
		!privacy_role_is_masked(GetOuterUserId()) &&
		!privacy_role_is_masked(GetUserId()))
		return false;
	return !in_extension_operation();
}

/* Refuse a function revealing protected data to a masked session. */
void
privacy_check_not_masked(const char *what)
{
	if (session_is_masked())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", what),
				 errdetail("The session of role \"%s\" is masked: it cannot read protected data.",
						   GetUserNameFromId(GetSessionUserId(), false))));
}

/*
 * fmgr hook: count the SECURITY DEFINER functions of schema privacy being
 * run (event triggers, refresh_masked_views, ...), for in_extension_operation.
 */
static void
views_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	HeapTuple	tup;
	bool		ours;

	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, private);
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(flinfo->fn_oid));
	if (!HeapTupleIsValid(tup))
		return;
	ours = ((Form_pg_proc) GETSTRUCT(tup))->prosecdef &&
		((Form_pg_proc) GETSTRUCT(tup))->pronamespace == privacy_schema_oid(true);
	ReleaseSysCache(tup);
	if (!ours)
		return;
	if (event == FHET_START)
		extension_definer_depth++;
	else if (extension_definer_depth > 0)
		extension_definer_depth--;
}

/* ----------------------------------------------------------------------
 * Relations holding personal data
 * ---------------------------------------------------------------------- */

/*
 * The Oid of the masked schema (GUC privacy.masked_schema), InvalidOid when
 * it does not exist; cached until the GUC names another schema or a
 * pg_namespace invalidation (created, dropped, renamed) arrives.
 */
static Oid
masked_schema_oid(void)
{
	uint64		generation = inval_generation;
	Oid			nsp;

	if (masked_nsp_valid && strcmp(masked_nsp_name, masked_schema) == 0)
		return masked_nsp_oid;
	nsp = get_namespace_oid(masked_schema, true);
	strlcpy(masked_nsp_name, masked_schema, sizeof(masked_nsp_name));
	masked_nsp_oid = nsp;
	masked_nsp_valid = generation == inval_generation;
	return nsp;
}

/* Does relid have a column labelled by provider privacy? */
static bool
has_column_labels(Oid relid)
{
	Relation	rel = table_open(SecLabelRelationId, AccessShareLock);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&keys[0], Anum_pg_seclabel_objoid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_seclabel_classoid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationRelationId));
	scan = systable_beginscan(rel, SecLabelObjectIndexId, true, NULL, 2, keys);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		provider = heap_getattr(tup, Anum_pg_seclabel_provider,
										   RelationGetDescr(rel), &isnull);

		found = ((FormData_pg_seclabel *) GETSTRUCT(tup))->objsubid > 0 && !isnull &&
			strcmp(TextDatumGetCString(provider), PROVIDER) == 0;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Has a relation above (up) or below relid in its inheritance or partition
 * tree column labels?
 */
static bool
inheritance_labelled(Oid relid, bool up, int depth)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	if (depth > MAX_DEPTH)
		return true;
	rel = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyInit(&key, up ? Anum_pg_inherits_inhrelid : Anum_pg_inherits_inhparent,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, up ? InheritsRelidSeqnoIndexId : InheritsParentIndexId,
							  true, NULL, 1, &key);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_inherits inh = (Form_pg_inherits) GETSTRUCT(tup);
		Oid			other = up ? inh->inhparent : inh->inhrelid;

		found = has_column_labels(other) || inheritance_labelled(other, up, depth + 1);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

static bool relation_is_personal(Oid relid, int depth);

/* Does view (or materialized view) relid read a relation holding personal data? */
static bool
view_reads_personal(Oid relid, int depth)
{
	Relation	rules = table_open(RewriteRelationId, AccessShareLock);
	Relation	deps = table_open(DependRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key, Anum_pg_rewrite_ev_class, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(rules, RewriteRelRulenameIndexId, true, NULL, 1, &key);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Oid			ruleid = ((Form_pg_rewrite) GETSTRUCT(tup))->oid;
		ScanKeyData dkeys[2];
		SysScanDesc dscan;
		HeapTuple	dtup;

		ScanKeyInit(&dkeys[0], Anum_pg_depend_classid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(RewriteRelationId));
		ScanKeyInit(&dkeys[1], Anum_pg_depend_objid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(ruleid));
		dscan = systable_beginscan(deps, DependDependerIndexId, true, NULL, 2, dkeys);
		while (!found && HeapTupleIsValid(dtup = systable_getnext(dscan)))
		{
			Form_pg_depend d = (Form_pg_depend) GETSTRUCT(dtup);

			found = d->refclassid == RelationRelationId && d->refobjid != relid &&
				relation_is_personal(d->refobjid, depth + 1);
		}
		systable_endscan(dscan);
	}
	systable_endscan(scan);
	table_close(deps, AccessShareLock);
	table_close(rules, AccessShareLock);
	return found;
}

/*
 * Does relid hold personal data a masked role must not read: anything in
 * schema privacy but its sequences, a table with masking rules or in the
 * inheritance tree of one, a view reading such a relation, the planner
 * statistics views?  The masked schema never does.
 */
static bool
relation_is_personal(Oid relid, int depth)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class c;
	Oid			nsp;
	char		relkind;
	bool		stats_view;

	if (!HeapTupleIsValid(tup))
		return false;
	if (depth > MAX_DEPTH)
	{
		ReleaseSysCache(tup);
		return true;
	}
	c = (Form_pg_class) GETSTRUCT(tup);
	nsp = c->relnamespace;
	relkind = c->relkind;
	stats_view = strcmp(NameStr(c->relname), "pg_stats") == 0 ||
		strcmp(NameStr(c->relname), "pg_stats_ext") == 0 ||
		strcmp(NameStr(c->relname), "pg_stats_ext_exprs") == 0;
	ReleaseSysCache(tup);

	if (nsp == PG_CATALOG_NAMESPACE)
		return stats_view;
	if (nsp == masked_schema_oid())
		return false;
	/* the extension's sequences are counters (pg_dump reads them) */
	if (nsp == privacy_schema_oid(true))
		return relkind != RELKIND_SEQUENCE;
	if (has_column_labels(relid) || inheritance_labelled(relid, true, depth) ||
		inheritance_labelled(relid, false, depth))
		return true;
	if (relkind == RELKIND_VIEW || relkind == RELKIND_MATVIEW)
		return view_reads_personal(relid, depth);
	return false;
}

/* ----------------------------------------------------------------------
 * The permission hook and its backend cache
 * ---------------------------------------------------------------------- */

/* What the permission hook knows about one relation. */
typedef enum RelKind
{
	REL_ORDINARY,				/* nothing personal: no check */
	REL_PERSONAL,				/* read by a masked session only through a masked view */
	REL_MASKED_VIEW				/* a view of the masked schema */
} RelKind;

typedef struct RelInfo
{
	Oid			relid;			/* hash key */
	RelKind		kind;
	int			nreads;			/* masked view: relations its query reads, */
	Oid		   *reads;			/* once per reference */
} RelInfo;

/*
 * Relations seen by the hook, with what they are; reset as a whole by any
 * relcache invalidation (DDL, a label set anywhere), a change of the masked
 * schema or of its name.  Hot-path checks cost hash lookups, no catalog scan.
 */
static HTAB *rel_cache = NULL;
static MemoryContext rel_cache_cxt = NULL;
static bool rel_cache_stale = false;
static Oid	rel_cache_masked_nsp = InvalidOid;

/* Relations a view's query reads with permissions checked, once per reference. */
typedef struct ViewReads
{
	List	   *relids;
} ViewReads;

/* Walker collecting the relations of a query and its subqueries. */
static bool
view_reads_walker(Node *node, void *context)
{
	ViewReads  *vr = (ViewReads *) context;

	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (privacy_rte_checks_perms(rte))
			vr->relids = lappend_oid(vr->relids, rte->relid);
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, view_reads_walker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, view_reads_walker, context);
}

/* Fill the reads of masked view info->relid (the table and what its filter reads). */
static void
load_view_reads(RelInfo *info)
{
	Relation	view = relation_open(info->relid, AccessShareLock);
	ViewReads	vr = {NIL};
	ListCell   *lc;
	int			i = 0;

	(void) view_reads_walker((Node *) get_view_query(view), &vr);
	relation_close(view, AccessShareLock);
	info->reads = MemoryContextAlloc(rel_cache_cxt, sizeof(Oid) * Max(list_length(vr.relids), 1));
	foreach(lc, vr.relids)
		info->reads[i++] = lfirst_oid(lc);
	info->nreads = i;
}

/* Drop the cache when an invalidation said so; make it when missing. */
static void
rel_cache_prepare(Oid masked_nsp)
{
	HASHCTL		ctl;

	if (rel_cache != NULL && !rel_cache_stale && rel_cache_masked_nsp == masked_nsp)
		return;
	if (rel_cache_cxt == NULL)
		rel_cache_cxt = AllocSetContextCreate(CacheMemoryContext, "privacy masked relations",
											  ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(rel_cache_cxt);
	rel_cache_stale = false;
	rel_cache_masked_nsp = masked_nsp;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(RelInfo);
	ctl.hcxt = rel_cache_cxt;
	rel_cache = hash_create("privacy masked relations", 64, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * What relation relid is, from the cache (computed on first use, and entered
 * only once computed: an error midway leaves no entry behind).
 */
static RelInfo *
rel_info(Oid relid, Oid masked_nsp)
{
	RelInfo    *info = hash_search(rel_cache, &relid, HASH_FIND, NULL);
	RelInfo		fresh = {relid, REL_ORDINARY, 0, NULL};

	if (info != NULL)
		return info;
	if (OidIsValid(masked_nsp) && get_rel_namespace(relid) == masked_nsp)
	{
		if (get_rel_relkind(relid) == RELKIND_VIEW)
		{
			fresh.kind = REL_MASKED_VIEW;
			load_view_reads(&fresh);
		}
	}
	else if (relation_is_personal(relid, 0))
		fresh.kind = REL_PERSONAL;
	info = hash_search(rel_cache, &relid, HASH_ENTER, NULL);
	*info = fresh;
	return info;
}

/* Relcache (and role) invalidation: the cache is rebuilt at the next check. */
static void
views_relcache_callback(Datum arg, Oid relid)
{
	rel_cache_stale = true;
	masked_roles_valid = false;
	masked_nsp_valid = false;
	inval_generation++;
}

/* Syscache invalidation of roles, memberships and schemas. */
static void
views_syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	rel_cache_stale = true;
	masked_roles_valid = false;
	masked_nsp_valid = false;
	inval_generation++;
}

/*
 * The permission check of a masked session.  n relations of one query (with
 * the permissions each requires) are admitted when none holds personal data,
 * or each one that does is read (SELECT only) through a masked view of the
 * query: every masked view brings one reference to each relation its own
 * query reads (its table, what its row filter reads); a reference beyond
 * those is the session's own and is refused.  The masked views are
 * security_invoker, so the standard check before this one has already
 * checked the session's grants on those relations, and the rewriter applied
 * their row-level security policies for it.
 */
static bool
check_masked_query(int n, const Oid *relids, const AclMode *perms, bool ereport_on_violation)
{
	Oid			masked_nsp = masked_schema_oid();
	RelInfo    *infos_buf[MAX_CHECK_LOCAL];
	Oid			allowed_buf[MAX_CHECK_LOCAL];
	RelInfo   **infos = infos_buf;
	Oid		   *allowed = allowed_buf;
	int			nallowed = 0;
	int			i;
	int			k;

	rel_cache_prepare(masked_nsp);
	if (n > MAX_CHECK_LOCAL)
		infos = palloc(sizeof(RelInfo *) * n);
	for (i = 0; i < n; i++)
		infos[i] = rel_info(relids[i], masked_nsp);
	/* the references the masked views of the query bring */
	for (i = 0; i < n; i++)
		if (infos[i]->kind == REL_MASKED_VIEW && perms[i] == ACL_SELECT)
			nallowed += infos[i]->nreads;
	if (nallowed > MAX_CHECK_LOCAL)
		allowed = palloc(sizeof(Oid) * nallowed);
	nallowed = 0;
	for (i = 0; i < n; i++)
		if (infos[i]->kind == REL_MASKED_VIEW && perms[i] == ACL_SELECT)
			for (k = 0; k < infos[i]->nreads; k++)
				allowed[nallowed++] = infos[i]->reads[k];
	for (i = 0; i < n; i++)
	{
		bool		through_view = false;

		if (infos[i]->kind != REL_PERSONAL)
			continue;
		if (perms[i] == ACL_SELECT)
			for (k = 0; k < nallowed; k++)
				if (allowed[k] == relids[i])
				{
					allowed[k] = InvalidOid;	/* each reference serves once */
					through_view = true;
					break;
				}
		if (through_view)
			continue;
		if (!ereport_on_violation)
			return false;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for relation %s", get_rel_name(relids[i])),
				 errdetail("The session of role \"%s\" is masked: it reads personal data only through the views of schema \"%s\".",
						   GetUserNameFromId(GetSessionUserId(), false), masked_schema)));
	}
	return true;
}

/* ExecutorCheckPerms hook: chain, then check the query of a masked session. */
static bool
views_check_perms(PRIVACY_CHECK_PERMS_PARAMS)
{
	ListCell   *lc;
	Oid			relids_buf[MAX_CHECK_LOCAL];
	AclMode		perms_buf[MAX_CHECK_LOCAL];
	Oid		   *relids = relids_buf;
	AclMode    *perms = perms_buf;
	int			n = 0;

	if (prev_check_perms && !prev_check_perms(PRIVACY_CHECK_PERMS_ARGS))
		return false;
	/* a parallel worker runs a plan its leader already checked */
	if (IsParallelWorker() || PRIVACY_CHECK_PERMS_LIST == NIL || !session_is_masked())
		return true;
	if (list_length(PRIVACY_CHECK_PERMS_LIST) > MAX_CHECK_LOCAL)
	{
		relids = palloc(sizeof(Oid) * list_length(PRIVACY_CHECK_PERMS_LIST));
		perms = palloc(sizeof(AclMode) * list_length(PRIVACY_CHECK_PERMS_LIST));
	}
	foreach(lc, PRIVACY_CHECK_PERMS_LIST)
	{
		if (privacy_perm_relation(lfirst(lc), &relids[n], &perms[n]))
			n++;
	}
	return check_masked_query(n, relids, perms, ereport_on_violation);
}

/* ----------------------------------------------------------------------
 * DDL around masked views
 * ---------------------------------------------------------------------- */

/* Is relid the labelled table that gets the masked view of its name? */
static bool
owns_masked_name(Oid relid)
{
	OwnerScope	scope;
	Oid			argtype = OIDOID;
	Datum		arg = ObjectIdGetDatum(relid);
	bool		found;

	privacy_owner_begin(&scope);
	privacy_spi_check(SPI_execute_with_args("SELECT 1 FROM privacy._labelled_tables() l "
											"WHERE l.tbl OPERATOR(pg_catalog.=) $1",
											1, &argtype, &arg, NULL, true, 1),
					  SPI_OK_SELECT, "read the labelled tables");
	found = SPI_processed > 0;
	privacy_owner_end(&scope);
	return found;
}

/* The masked view of table relid, or InvalidOid. */
static Oid
masked_view_of(Oid relid)
{
	Oid			nsp = masked_schema_oid();
	char	   *name;
	Oid			view;

	if (!OidIsValid(nsp) || !OidIsValid(relid) || !OidIsValid(privacy_schema_oid(true)) ||
		!has_column_labels(relid) || (name = get_rel_name(relid)) == NULL)
		return InvalidOid;
	view = get_relname_relid(name, nsp);
	if (get_rel_relkind(view) != RELKIND_VIEW || !owns_masked_name(relid))
		return InvalidOid;
	return view;
}

/*
 * Drop the masked view of table relid before a command that its dependency
 * would block (DROP TABLE, DROP COLUMN, ALTER COLUMN TYPE without CASCADE);
 * the event triggers rebuild it after the command.
 */
static void
drop_masked_view(Oid relid)
{
	Oid			view = masked_view_of(relid);

	if (OidIsValid(view))
		(void) privacy_exec_as(privacy_owner_oid(),
							   psprintf("DROP VIEW %s",
										quote_qualified_identifier(masked_schema, get_rel_name(view))),
							   0, NULL, NULL, NULL, false, SPI_OK_UTILITY, 0, NULL, NULL, NULL);
}

/* Before DROP TABLE (without CASCADE): drop the tables' masked views. */
static void
before_drop(DropStmt *stmt)
{
	ListCell   *lc;

	if (stmt->removeType != OBJECT_TABLE || stmt->behavior == DROP_CASCADE)
		return;
	foreach(lc, stmt->objects)
		drop_masked_view(RangeVarGetRelid(makeRangeVarFromNameList(lfirst(lc)), NoLock, true));
}

/* Before ALTER TABLE dropping a column or changing its type: drop the masked view. */
static void
before_alter(AlterTableStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if ((cmd->subtype == AT_DropColumn && cmd->behavior != DROP_CASCADE) ||
			cmd->subtype == AT_AlterColumnType)
		{
			drop_masked_view(RangeVarGetRelid(stmt->relation, NoLock, true));
			return;
		}
	}
}

/* Locations of the references to column name in a raw expression tree. */
typedef struct ColumnRefs
{
	const char *name;
	List	   *locations;
} ColumnRefs;

/* Raw tree walker collecting ColumnRefs. */
static bool
column_refs_walker(Node *node, void *context)
{
	ColumnRefs *refs = (ColumnRefs *) context;

	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		ColumnRef  *c = (ColumnRef *) node;

		if (list_length(c->fields) == 1 && IsA(linitial(c->fields), String) &&
			strcmp(strVal(linitial(c->fields)), refs->name) == 0)
			refs->locations = lappend_int(refs->locations, c->location);
		return false;
	}
	return raw_expression_tree_walker(node, column_refs_walker, context);
}

/*
 * A column label with every reference to column oldname renamed to newname,
 * or NULL when it has none.
 */
static char *
label_with_column_renamed(const char *label, const char *oldname, const char *newname)
{
	const char *expr = NULL;
	ColumnRefs	refs = {oldname, NIL};
	StringInfoData buf;
	char	   *sql;
	int			done = 7;		/* strlen("SELECT ") */
	List	   *stmts;
	ListCell   *lc;

	if (parse_column_label(label, &expr) == RULE_NOT_MASKED)
		return NULL;
	sql = psprintf("SELECT %s", expr);
	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	(void) column_refs_walker((Node *) ((SelectStmt *) linitial_node(RawStmt, stmts)->stmt)->targetList,
							  &refs);
	if (refs.locations == NIL)
		return NULL;
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, label, expr - label);
	foreach(lc, refs.locations)
	{
		int			loc = lfirst_int(lc);

		appendBinaryStringInfo(&buf, sql + done, loc - done);
		appendStringInfoString(&buf, quote_identifier(newname));
		done = loc + privacy_label_identifier_length(sql + loc);
	}
	appendStringInfoString(&buf, sql + done);
	return buf.data;
}

/* Store a column label this module rewrote, without checking it now. */
static void
set_column_label_unchecked(Oid relid, int attnum, const char *label)
{
	ObjectAddress addr;

	ObjectAddressSubSet(addr, RelationRelationId, relid, attnum);
	rewriting_labels = true;
	PG_TRY();
	{
		SetSecurityLabel(&addr, PROVIDER, label);
	}
	PG_FINALLY();
	{
		rewriting_labels = false;
	}
	PG_END_TRY();
}

/*
 * Before a column of a labelled table is renamed: rewrite the labels of the
 * table whose expressions name it (checked again by the refresh after the
 * rename).
 */
static void
before_rename_column(RenameStmt *stmt)
{
	Oid			relid;
	Relation	rel;
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *subids = NIL;
	List	   *labels = NIL;
	ListCell   *a;
	ListCell   *b;

	if (stmt->renameType != OBJECT_COLUMN || stmt->relationType != OBJECT_TABLE)
		return;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid) || !has_column_labels(relid))
		return;

	rel = table_open(SecLabelRelationId, AccessShareLock);
	ScanKeyInit(&keys[0], Anum_pg_seclabel_objoid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_seclabel_classoid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationRelationId));
	scan = systable_beginscan(rel, SecLabelObjectIndexId, true, NULL, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		provider = heap_getattr(tup, Anum_pg_seclabel_provider, RelationGetDescr(rel), &isnull);
		Datum		label;
		char	   *renamed;

		if (isnull || strcmp(TextDatumGetCString(provider), PROVIDER) != 0)
			continue;
		label = heap_getattr(tup, Anum_pg_seclabel_label, RelationGetDescr(rel), &isnull);
		renamed = label_with_column_renamed(TextDatumGetCString(label), stmt->subname, stmt->newname);
		if (renamed == NULL)
			continue;
		subids = lappend_int(subids, ((FormData_pg_seclabel *) GETSTRUCT(tup))->objsubid);
		labels = lappend(labels, renamed);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	forboth(a, subids, b, labels)
		set_column_label_unchecked(relid, lfirst_int(a), lfirst(b));
}

/*
 * Is this CREATE VIEW of a masked view that refresh_masked_views() already
 * made?  A restore does this: the labels, restored with their tables, have
 * rebuilt the views before the dump's CREATE VIEW statements come.
 */
static bool
recreates_masked_view(ViewStmt *stmt)
{
	Oid			nsp;

	if (stmt->replace || stmt->view->schemaname == NULL ||
		strcmp(stmt->view->schemaname, masked_schema) != 0 ||
		!OidIsValid(nsp = masked_schema_oid()))
		return false;
	return get_rel_relkind(get_relname_relid(stmt->view->relname, nsp)) == RELKIND_VIEW;
}

/* ----------------------------------------------------------------------
 * Masked dumps
 * ---------------------------------------------------------------------- */

/* Is relid a table of the extension (configuration that pg_dump dumps)? */
static bool
is_extension_table(Oid relid)
{
	Oid			ext;

	if (get_rel_namespace(relid) != privacy_schema_oid(true) ||
		get_rel_relkind(relid) != RELKIND_RELATION)
		return false;
	ext = get_extension_oid("privacy", true);
	return OidIsValid(ext) && getExtensionOfObject(RelationRelationId, relid) == ext;
}

/* Append to buf the columns a COPY of relid with column list attlist reads. */
static void
append_copy_columns(StringInfo buf, Oid relid, List *attlist)
{
	const char *sep = "";
	ListCell   *lc;

	if (attlist != NIL)
	{
		foreach(lc, attlist)
		{
			appendStringInfo(buf, "%s%s", sep, quote_identifier(strVal(lfirst(lc))));
			sep = ", ";
		}
		return;
	}
	/* no list: every column COPY would write, in order */
	{
		Relation	rel = relation_open(relid, AccessShareLock);
		TupleDesc	desc = RelationGetDescr(rel);
		int			i;

		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (att->attisdropped || att->attgenerated)
				continue;
			appendStringInfo(buf, "%s%s", sep, quote_identifier(NameStr(att->attname)));
			sep = ", ";
		}
		relation_close(rel, AccessShareLock);
	}
}

/*
 * The statement a masked session runs instead of "COPY <relation> TO ...",
 * or NULL to run it as it is (the permission hook then decides):
 *  - a table with masking rules that has its masked view: the same columns
 *    read from the masked view, "COPY (SELECT <columns> FROM <masked view>)
 *    TO ...", i.e. what the session may read anyway (its grants and
 *    row-level security apply, as through the view), so that pg_dump run
 *    by a masked role dumps masked data;
 *  - a table of the extension (the key ring, the audit log, registries,
 *    which pg_dump dumps as extension configuration): no rows.
 * The destination and the options are kept: a file or a program still
 * needs the rights it needs.  *sql gets the text of the new statement.
 */
static CopyStmt *
masked_copy(CopyStmt *stmt, char **sql)
{
	Oid			relid;
	Oid			view;
	StringInfoData buf;
	List	   *stmts;
	CopyStmt   *copy;

	if (stmt->is_from || stmt->relation == NULL)
		return NULL;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		return NULL;
	initStringInfo(&buf);
	if (is_extension_table(relid))
		appendStringInfoString(&buf, "COPY (SELECT WHERE false) TO STDOUT");
	else if (OidIsValid(view = masked_view_of(relid)))
	{
		/* COPY of a table reads its own rows; its masked view those of its children too */
		if (has_subclass(relid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot copy table \"%s\" in a masked session", get_rel_name(relid)),
					 errdetail("It has inheritance children: its masked view reads their rows too.")));
		appendStringInfoString(&buf, "COPY (SELECT ");
		append_copy_columns(&buf, relid, stmt->attlist);
		appendStringInfo(&buf, " FROM %s) TO STDOUT",
						 quote_qualified_identifier(masked_schema, get_rel_name(view)));
	}
	else
		return NULL;

	stmts = raw_parser(buf.data, RAW_PARSE_DEFAULT);
	copy = castNode(CopyStmt, linitial_node(RawStmt, stmts)->stmt);
	copy->filename = stmt->filename;
	copy->is_program = stmt->is_program;
	copy->options = stmt->options;
	*sql = buf.data;
	return copy;
}

/*
 * A masked session's LOCK TABLE ... IN ACCESS SHARE MODE [NOWAIT] naming
 * only tables of the extension: pg_dump's parallel workers lock each table
 * whose data they copy, and masked_copy copies these as no rows, so the
 * lock is taken without the SELECT privilege that LOCK TABLE asks for (no
 * row is read).  false: any other LOCK, which runs as it is.
 */
static bool
masked_lock(LockStmt *stmt, bool isTopLevel)
{
	List	   *relids = NIL;
	ListCell   *lc;

	if (stmt->mode != AccessShareLock)
		return false;
	foreach(lc, stmt->relations)
	{
		Oid			relid = RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true);

		if (!OidIsValid(relid) || !is_extension_table(relid))
			return false;
		relids = lappend_oid(relids, relid);
	}
	RequireTransactionBlock(isTopLevel, "LOCK TABLE");
	foreach(lc, relids)
	{
		if (!stmt->nowait)
			LockRelationOid(lfirst_oid(lc), AccessShareLock);
		else if (!ConditionalLockRelationOid(lfirst_oid(lc), AccessShareLock))
			ereport(ERROR,
					(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
					 errmsg("could not obtain lock on relation \"%s\"", get_rel_name(lfirst_oid(lc)))));
	}
	return true;
}

/*
 * Lift the view restriction of restrict_nonsystem_relation_kind (pg_dump
 * sets it so that no view runs code while it dumps) for a masked COPY:
 * the one view it reads is a masked view, made by the extension from
 * checked masking rules.  Foreign tables stay restricted.  Returns the GUC
 * nest level to restore.
 */
static int
lift_view_restriction(void)
{
	int			nest = NewGUCNestLevel();
	const char *kinds = GetConfigOption("restrict_nonsystem_relation_kind", true, false);

	if (kinds != NULL && *kinds != '\0')
		(void) set_config_option("restrict_nonsystem_relation_kind",
								 strstr(kinds, "foreign-table") ? "foreign-table" : "",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nest;
}

/*
 * ProcessUtility hook: make room for DDL that masked views would block; a
 * masked session's COPY of a table with masking rules reads its masked view.
 */
static void
views_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree,
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	int			guc_nest = -1;

	if (IsA(parsetree, DropStmt))
		before_drop((DropStmt *) parsetree);
	else if (IsA(parsetree, AlterTableStmt))
		before_alter((AlterTableStmt *) parsetree);
	else if (IsA(parsetree, RenameStmt))
		before_rename_column((RenameStmt *) parsetree);
	else if (IsA(parsetree, ViewStmt) && recreates_masked_view((ViewStmt *) parsetree))
	{
		pstmt = copyObject(pstmt);
		((ViewStmt *) pstmt->utilityStmt)->replace = true;
	}
	else if (IsA(parsetree, CopyStmt) && session_is_masked())
	{
		char	   *sql = NULL;
		CopyStmt   *copy = masked_copy((CopyStmt *) parsetree, &sql);

		if (copy != NULL)
		{
			pstmt = copyObject(pstmt);
			pstmt->utilityStmt = (Node *) copy;
			pstmt->stmt_location = 0;
			pstmt->stmt_len = 0;
			queryString = sql;
			guc_nest = lift_view_restriction();
		}
	}
	else if (IsA(parsetree, LockStmt) && session_is_masked() &&
			 masked_lock((LockStmt *) parsetree, context == PROCESS_UTILITY_TOPLEVEL))
		return;

	privacy_next_utility(prev_utility, pstmt, queryString, readOnlyTree,
						 context, params, queryEnv, dest, qc);
	if (guc_nest >= 0)
		AtEOXact_GUC(true, guc_nest);

	/*
	 * A label stored: every backend's permission cache (masked roles,
	 * personal relations) is rebuilt, this one's at the next command (the
	 * label hook ran before the label was stored, and the queries it ran may
	 * have read the old labels into the cache).
	 */
	if (IsA(parsetree, SecLabelStmt))
	{
		CacheInvalidateRelcacheAll();
		masked_roles_valid = false;
		rel_cache_stale = true;
	}
}

/* At the end of a transaction: no extension function is running any more. */
static void
views_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
		extension_definer_depth = 0;
}

/* Module initialisation: GUC, label provider, hooks. */
void
ViewsInit(void)
{
	DefineCustomStringVariable("privacy.masked_schema",
							   "Schema of the masked views that masked roles read.",
							   "Set it per database (ALTER DATABASE ... SET), then run privacy.refresh_masked_views().",
							   &masked_schema,
							   "privacy_masked",
							   PGC_SUSET, 0,
							   privacy_check_identifier, NULL, NULL);
	register_label_provider(PROVIDER, views_object_relabel);
	prev_check_perms = ExecutorCheckPerms_hook;
	ExecutorCheckPerms_hook = views_check_perms;
	prev_utility = ProcessUtility_hook;
	ProcessUtility_hook = views_ProcessUtility;
	RegisterXactCallback(views_xact_callback, NULL);
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = views_fmgr_hook;
	CacheRegisterRelcacheCallback(views_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, views_syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, views_syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, views_syscache_callback, (Datum) 0);
}
