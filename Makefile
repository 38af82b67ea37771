# privacy — PGXS build.  The version lives in privacy.control only.
EXTENSION   = privacy
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" privacy.control)
MODULE_big  = privacy
MODULES_SRC = privacy util audit keys crypto protect mask tokenize views retention worker subject
OBJS        = $(patsubst %,src/%.o,$(MODULES_SRC))

# SQL fragments, one per module, concatenated in this order into the install script.
SQL_FRAGMENTS = src/sql/schema.sql src/sql/audit.sql src/sql/keys.sql \
                src/sql/crypto.sql src/sql/protect.sql src/sql/mask.sql \
                src/sql/tokenize.sql src/sql/views.sql src/sql/retention.sql \
                src/sql/subject.sql
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql
# Upgrade scripts (privacy--A--B.sql) are written by hand and kept in the repository.
DATA        = $(wildcard $(EXTENSION)--*--*.sql)

# pg_regress: every sql/*.sql, in name order.
REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=privacy

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
              -Wno-missing-field-initializers -Wno-cast-function-type
SHLIB_LINK  = -lcrypto
EXTRA_CLEAN = results regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifeq ($(PGXS),)
# No server headers yet: `make test` / `make demo` install them first.
all install installcheck:
	@echo "pg_config not found: run 'make test' or 'make demo' (as root or with sudo) to install what is missing" >&2; exit 1
else
include $(PGXS)
endif

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_FRAGMENTS) privacy.control
	{ echo "-- privacy $(EXTVERSION): generated from src/sql/*.sql by the Makefile; edit the fragments."; \
	  printf '%s\n' '\echo Use "CREATE EXTENSION privacy" to load this file. \quit'; \
	  for f in $(SQL_FRAGMENTS); do echo; echo "-- ---- $$f ----"; cat $$f; done; } > $@

# The number of pg_regress tests (scripts/test.sh checks that each gave a result).
.PHONY: regress-count
regress-count:
	@echo $(words $(REGRESS))

.PHONY: test demo bench
test:
	bash scripts/test.sh

demo:
	bash scripts/demo.sh

bench:
	bash scripts/bench.sh
