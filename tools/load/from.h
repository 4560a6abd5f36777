/* sessmon-load --from: reads and validates the NDJSON file describing the sessions to open. */
#ifndef SM_LOAD_FROM_H
#define SM_LOAD_FROM_H

#include <stddef.h>
#include <stdio.h>

#include <sessmon.h>
#include "core/error.h"
#include "tools/load/options.h"

#define SM_LOAD_FROM_LINE_MAX (256u * 1024u) /* bytes in one line */
#define SM_LOAD_FROM_MAX_PROPS 1024          /* the server's own limit is usually lower */

/* One session of the file. Strings are owned; principal "" = anonymous. */
typedef struct sm_load_spec {
    unsigned line; /* 1-based line number in the file, for messages */
    char *principal;
    char *password;
    sm_property *props;
    size_t prop_count;
    char *client_type; /* NULL = "C" */
    char *environment; /* NULL = the library's default */
    char source[SM_LOAD_IP_MAX]; /* "" = the round-robin --sources */
} sm_load_spec;

typedef struct sm_load_specs {
    sm_load_spec *items;
    size_t count;
} sm_load_specs;

/* Parses one line (len bytes, no newline) into spec. Fields: "principal" (string, "" or absent
 * = anonymous), "password" (string), "properties" (object of strings), "clientType" (one of the
 * protocol's client types), "environment" (string <= 256 bytes), "source" (127.0.0.0/8
 * address). Unknown fields are errors (they are usually typos). err's message starts with
 * "line N: ". */
int sm_load_spec_parse(const char *text, size_t len, unsigned line, sm_load_spec *spec, sm_error *err);
void sm_load_spec_free(sm_load_spec *spec);

/* Reads every line of f; blank lines are skipped. Stops at the first bad line. */
int sm_load_specs_read(FILE *f, sm_load_specs *out, sm_error *err);
int sm_load_specs_load(const char *path, sm_load_specs *out, sm_error *err);
void sm_load_specs_free(sm_load_specs *s);

#endif
