/* The session filter language of FILTERS.md: lexer, parser to an AST, and evaluator. */
#ifndef SM_CORE_FILTER_H
#define SM_CORE_FILTER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Returns the value of property key for the session being tested, or NULL when absent. */
typedef const char *(*sm_prop_lookup_fn)(void *ctx, const char *key);

typedef struct sm_filter sm_filter;

/* Parses text[0..len). On success stores a new filter in *out and returns SM_OK. On failure
 * returns SM_ERR_INVALID (or SM_ERR_LIMIT for the size/depth limits) and fills err: err->column
 * is the 1-based column, err->message reads e.g.
 * "filter error at column 16: expected a quoted value after 'is'". */
int sm_filter_parse(const char *text, size_t len, sm_filter **out, sm_error *err);
/* The checks sm_filter_parse makes before parsing (size limit, UTF-8), with the same errors, so
 * a client refusing a filter itself says exactly what the server would. */
int sm_filter_check_text(const char *text, size_t len, sm_error *err);
void sm_filter_free(sm_filter *f);

/* Evaluates the filter against one session. Never fails. */
bool sm_filter_eval(const sm_filter *f, sm_prop_lookup_fn lookup, void *ctx);

/* The source text the filter was parsed from. */
const char *sm_filter_text(const sm_filter *f);

/* True when the result can depend on property key (hasRoles depends on $Roles; `all` on nothing).
 * Lets a server skip re-evaluation when unrelated properties change. */
bool sm_filter_uses_key(const sm_filter *f, const char *key);

/* The compiled size of all its regular expressions together (0 without `matches`), at most
 * SM_FILTER_REGEX_PROGRAM_MAX of core/regex.h. Evaluating the filter on a session costs up to
 * about 4 ns (measured by bench/filter) per instruction per byte of the values tested, so a server holding many filters
 * (listeners) can budget what one session change may cost in total. */
size_t sm_filter_regex_cost(const sm_filter *f);

/* The keys the result can depend on, sorted byte-wise, without duplicates (the set that
 * sm_filter_uses_key tests): lets a server index its listeners by key. */
size_t sm_filter_key_count(const sm_filter *f);
const char *sm_filter_key(const sm_filter *f, size_t index);

#endif
