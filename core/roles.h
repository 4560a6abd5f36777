/* $Roles values: parsing quoted role lists into sorted sets and formatting the canonical form. */
#ifndef SM_CORE_ROLES_H
#define SM_CORE_ROLES_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* A set of role names, sorted byte-wise, no duplicates. */
typedef struct sm_roles {
    char **names;
    size_t count;
    size_t cap;
} sm_roles;

void sm_roles_init(sm_roles *r);
void sm_roles_free(sm_roles *r);
/* Adds a copy of name unless present. SM_OK or SM_ERR_NOMEM. */
int sm_roles_add(sm_roles *r, const char *name);
bool sm_roles_contains(const sm_roles *r, const char *name);
/* True when every role of sub is in r. */
bool sm_roles_contains_all(const sm_roles *r, const sm_roles *sub);
bool sm_roles_equal(const sm_roles *a, const sm_roles *b);

/* Parses role names written as quoted strings ('...' or "..."; backslash escapes ' " and \)
 * separated by commas and/or whitespace. The empty (or all-blank) string is the empty set.
 * On error returns SM_ERR_INVALID with err->column set. */
int sm_roles_parse(const char *text, size_t len, sm_roles *out, sm_error *err);

/* Canonical form: each role double-quoted (with " and \ escaped), sorted, joined by commas, e.g.
 * "admin","operator". Returns a malloc'd string, or NULL on allocation failure. */
char *sm_roles_format(const sm_roles *r);

#endif
