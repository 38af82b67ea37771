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
 * privacy.masking_rules and one security_barrier view per labelled table in
 * the masked schema (GUC privacy.masked_schema); event triggers call it after
 * DDL.  Enforcement does not rely on REVOKE alone: the ExecutorCheckPerms
 * hook refuses a masked role every relation outside the masked schema that
 * holds personal data, whatever was granted to PUBLIC or to its groups.
 */
#include "postgres.h"

#include <ctype.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_seclabel.h"
#include "catalog/pg_shseclabel.h"
#include "catalog/pg_type.h"
#include "commands/seclabel.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"

#include "util.h"
#include "views.h"

#define PROVIDER "privacy"
/* Nesting limit when following inheritance and view dependencies. */
#define MAX_DEPTH 32

PG_FUNCTION_INFO_V1(privacy_mask_rule);

static char *masked_schema = NULL;

static ExecutorCheckPerms_hook_type prev_check_perms = NULL;
static ProcessUtility_hook_type prev_utility = NULL;

/* Set while this module rewrites labels itself (column renames). */
static bool rewriting_labels = false;

/* Roles labelled MASKED, read once per command (pg_shseclabel has no cache). */
static Oid *masked_roles = NULL;
static int	n_masked_roles = 0;
static bool masked_roles_valid = false;
static CommandId masked_roles_cid;

typedef enum RuleKind
{
	RULE_NOT_MASKED,
	RULE_FUNCTION,
	RULE_VALUE
} RuleKind;

/* ----------------------------------------------------------------------
 * Labels
 * ---------------------------------------------------------------------- */

/*
 * If s starts with keyword kw (any case, after spaces) followed by a space
 * or the end, return what follows it with spaces skipped; else NULL.
 */
static const char *
skip_keyword(const char *s, const char *kw)
{
	size_t		n = strlen(kw);

	if (s == NULL)
		return NULL;
	while (isspace((unsigned char) *s))
		s++;
	if (pg_strncasecmp(s, kw, n) != 0)
		return NULL;
	s += n;
	if (*s != '\0' && !isspace((unsigned char) *s))
		return NULL;
	while (isspace((unsigned char) *s))
		s++;
	return s;
}

/* Is label exactly the keyword kw (any case, spaces around allowed)? */
static bool
label_is(const char *label, const char *kw)
{
	const char *rest = skip_keyword(label, kw);

	return rest != NULL && *rest == '\0';
}

/* Kind of a column label; *expr gets the expression of a MASKED one. */
static RuleKind
parse_column_label(const char *label, const char **expr)
{
	const char *p = skip_keyword(skip_keyword(label, "MASKED"), "WITH");
	const char *q;

	if (label_is(skip_keyword(label, "NOT"), "MASKED"))
		return RULE_NOT_MASKED;
	if ((q = skip_keyword(p, "FUNCTION")) != NULL && *q != '\0')
	{
		*expr = q;
		return RULE_FUNCTION;
	}
	if ((q = skip_keyword(p, "VALUE")) != NULL && *q != '\0')
	{
		*expr = q;
		return RULE_VALUE;
	}
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

/* Has a superuser labelled function funcid TRUSTED? */
static bool
function_is_trusted(Oid funcid)
{
	ObjectAddress addr;

	ObjectAddressSet(addr, ProcedureRelationId, funcid);
	return label_is(GetSecurityLabel(&addr, PROVIDER), "TRUSTED");
}

/* May PUBLIC execute function funcid? */
static bool
public_may_execute(Oid funcid)
{
#if PG_VERSION_NUM >= 160000
	return object_aclcheck(ProcedureRelationId, funcid, ACL_ID_PUBLIC, ACL_EXECUTE) == ACLCHECK_OK;
#else
	return pg_proc_aclcheck(funcid, ACL_ID_PUBLIC, ACL_EXECUTE) == ACLCHECK_OK;
#endif
}

/*
 * Refuse a function a masking rule must not call: built-ins must not be
 * VOLATILE; privacy functions must be executable by PUBLIC, not internal
 * ("_" names) and free of side effects (VOLATILE only if PARALLEL SAFE);
 * any other function must be labelled TRUSTED.
 */
static void
check_function(Oid funcid)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(funcid));
	Form_pg_proc p;
	const char *problem = NULL;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", funcid);
	p = (Form_pg_proc) GETSTRUCT(tup);
	if (p->proretset || p->prokind != PROKIND_FUNCTION)
		problem = "It is not a plain function returning one value.";
	else if (p->pronamespace == PG_CATALOG_NAMESPACE)
	{
		if (p->provolatile == PROVOLATILE_VOLATILE && !function_is_trusted(funcid))
			problem = "Built-in functions in masking rules must be IMMUTABLE or STABLE.";
		/* table_to_xml, schema_to_xml, database_to_xml, ...: they read other tables */
		else if (strstr(NameStr(p->proname), "_to_xml") != NULL && !function_is_trusted(funcid))
			problem = "It reads other relations.";
	}
	else if (p->pronamespace == privacy_schema_oid(true))
	{
		if (NameStr(p->proname)[0] == '_' || !public_may_execute(funcid))
			problem = "It is internal or not executable by PUBLIC.";
		else if (p->provolatile == PROVOLATILE_VOLATILE && p->proparallel != PROPARALLEL_SAFE)
			problem = "It has side effects.";
	}
	else if (!function_is_trusted(funcid))
	{
		char	   *name = format_procedure_qualified(funcid);

		ReleaseSysCache(tup);
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("function %s is not trusted for masking rules", name),
				 errhint("A superuser may run SECURITY LABEL FOR privacy ON FUNCTION %s IS 'TRUSTED'.",
						 name)));
	}
	ReleaseSysCache(tup);
	if (problem)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("function %s cannot be used in a masking rule",
						format_procedure_qualified(funcid)),
				 errdetail_internal("%s", problem)));
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
	check_function(funcid);
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
			check_function(((FuncExpr *) node)->funcid);
			break;
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
	List	   *stmts = raw_parser(sql
#if PG_VERSION_NUM >= 140000
								   ,RAW_PARSE_DEFAULT
#endif
		);
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
#if PG_VERSION_NUM >= 150000
	query = parse_analyze_fixedparams(raw, sql, NULL, 0, NULL);
#else
	query = parse_analyze(raw, sql, NULL, 0, NULL);
#endif
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
	rule = column_rule(relid, attnum, text_to_cstring(PG_GETARG_TEXT_PP(2)));
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

/* Run one statement as the extension owner with search_path pinned. */
static void
owner_execute(const char *sql, int nargs, Oid *types, Datum *values)
{
	OwnerScope	scope;
	int			rc;

	privacy_owner_begin(&scope);
	rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	if (rc < 0)
		elog(ERROR, "could not run \"%s\": %s", sql, SPI_result_code_string(rc));
	privacy_owner_end(&scope);
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
	owner_execute("SELECT privacy._setup_masked_role($1, $2)", 2, types, values);
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
				check_rule_table(object->objectId);
				(void) column_rule(object->objectId, object->objectSubId, seclabel);
			}
			break;
		case AuthIdRelationId:
			if (seclabel != NULL && !label_is(seclabel, "MASKED"))
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
			if (seclabel != NULL && !label_is(seclabel, "TRUSTED"))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid function label \"%s\"", seclabel),
						 errhint("The only function label of provider privacy is TRUSTED.")));
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

/* Read the roles labelled MASKED, once per command. */
static void
load_masked_roles(void)
{
	CommandId	cid = GetCurrentCommandId(false);
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	int			cap = 8;

	if (masked_roles_valid && masked_roles_cid == cid)
		return;
	if (masked_roles == NULL)
		masked_roles = MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * cap);
	else
		masked_roles = repalloc(masked_roles, sizeof(Oid) * cap);
	n_masked_roles = 0;

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
		if (isnull || !label_is(TextDatumGetCString(label), "MASKED"))
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
	masked_roles_valid = true;
	masked_roles_cid = cid;
}

/* Is roleid masked: labelled MASKED or member of such a role (superusers never are)? */
bool
privacy_role_is_masked(Oid roleid)
{
	int			i;

	if (!OidIsValid(roleid))
		return false;
	load_masked_roles();
	if (n_masked_roles == 0 || superuser_arg(roleid))
		return false;
	for (i = 0; i < n_masked_roles; i++)
		if (masked_roles[i] == roleid || is_member_of_role_nosuper(roleid, masked_roles[i]))
			return true;
	return false;
}

/*
 * Does role act for a masked role: masked itself, or the role a masked login
 * switched to with SET ROLE (security-definer calls switch the current user,
 * not the outer one, and are not affected).
 */
static bool
acts_as_masked(Oid role)
{
	return privacy_role_is_masked(role) ||
		(role == GetOuterUserId() && privacy_role_is_masked(GetSessionUserId()));
}

/* Refuse a function revealing protected data to a masked role. */
void
privacy_check_not_masked(const char *what)
{
	Oid			role = GetUserId();

	if (acts_as_masked(role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", what),
				 errdetail("Role \"%s\" is masked: it cannot read protected data.",
						   GetUserNameFromId(role, false))));
}

/* ----------------------------------------------------------------------
 * Relations holding personal data
 * ---------------------------------------------------------------------- */

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
 * schema privacy, a table with masking rules or in the inheritance tree of
 * one, a view reading such a relation, the planner statistics views?  The
 * masked schema never does.
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
	if (nsp == get_namespace_oid(masked_schema, true))
		return false;
	if (nsp == privacy_schema_oid(true))
		return true;
	if (has_column_labels(relid) || inheritance_labelled(relid, true, depth) ||
		inheritance_labelled(relid, false, depth))
		return true;
	if (relkind == RELKIND_VIEW || relkind == RELKIND_MATVIEW)
		return view_reads_personal(relid, depth);
	return false;
}

/*
 * Permission check of one relation of a query: refused when the role it is
 * checked as acts for a masked role and the relation holds personal data.
 */
static bool
check_relation(Oid relid, Oid check_as, bool ereport_on_violation)
{
	Oid			role = OidIsValid(check_as) ? check_as : GetUserId();

	if (!acts_as_masked(role) || !relation_is_personal(relid, 0))
		return true;
	if (!ereport_on_violation)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for relation %s", get_rel_name(relid)),
			 errdetail("Role \"%s\" is masked: it reads personal data only through the views of schema \"%s\".",
					   GetUserNameFromId(role, false), masked_schema)));
	return false;
}

/* ExecutorCheckPerms hook: chain, then refuse personal relations to masked roles. */
#if PG_VERSION_NUM >= 160000
static bool
views_check_perms(List *rangeTable, List *rtePermInfos, bool ereport_on_violation)
{
	ListCell   *lc;

	if (prev_check_perms && !prev_check_perms(rangeTable, rtePermInfos, ereport_on_violation))
		return false;
	load_masked_roles();
	if (n_masked_roles == 0)
		return true;
	foreach(lc, rtePermInfos)
	{
		RTEPermissionInfo *p = lfirst_node(RTEPermissionInfo, lc);

		if (p->requiredPerms != 0 && !check_relation(p->relid, p->checkAsUser, ereport_on_violation))
			return false;
	}
	return true;
}
#else
static bool
views_check_perms(List *rangeTable, bool ereport_on_violation)
{
	ListCell   *lc;

	if (prev_check_perms && !prev_check_perms(rangeTable, ereport_on_violation))
		return false;
	load_masked_roles();
	if (n_masked_roles == 0)
		return true;
	foreach(lc, rangeTable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && rte->requiredPerms != 0 &&
			!check_relation(rte->relid, rte->checkAsUser, ereport_on_violation))
			return false;
	}
	return true;
}
#endif

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
	Oid			nsp = get_namespace_oid(masked_schema, true);
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
		owner_execute(psprintf("DROP VIEW %s",
							   quote_qualified_identifier(masked_schema, get_rel_name(view))),
					  0, NULL, NULL);
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

/* Length of the identifier token (plain or double-quoted) starting at s. */
static int
identifier_length(const char *s)
{
	const char *p = s;

	if (*p == '"')
	{
		for (p++; *p; p++)
			if (*p == '"')
			{
				if (p[1] != '"')
					return p + 1 - s;
				p++;
			}
		return p - s;
	}
	while (*p && (isalnum((unsigned char) *p) || *p == '_' || *p == '$' || IS_HIGHBIT_SET(*p)))
		p++;
	return p - s;
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
	stmts = raw_parser(sql
#if PG_VERSION_NUM >= 140000
					   ,RAW_PARSE_DEFAULT
#endif
		);
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
		done = loc + identifier_length(sql + loc);
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
		!OidIsValid(nsp = get_namespace_oid(masked_schema, true)))
		return false;
	return get_rel_relkind(get_relname_relid(stmt->view->relname, nsp)) == RELKIND_VIEW;
}

/* ProcessUtility hook: make room for DDL that masked views would block. */
static void
views_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
#if PG_VERSION_NUM >= 140000
					 bool readOnlyTree,
#endif
					 ProcessUtilityContext context, ParamListInfo params,
					 QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

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

	if (prev_utility)
		prev_utility(pstmt, queryString,
#if PG_VERSION_NUM >= 140000
					 readOnlyTree,
#endif
					 context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString,
#if PG_VERSION_NUM >= 140000
								readOnlyTree,
#endif
								context, params, queryEnv, dest, qc);
}

/* Forget the masked roles read in a transaction that ended. */
static void
views_xact_callback(XactEvent event, void *arg)
{
	masked_roles_valid = false;
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
}
