/* Output of the sessmon subcommands: terminal-safe escaping, aligned tables and NDJSON values. */
#ifndef SMT_TUI_CLI_OUT_H
#define SMT_TUI_CLI_OUT_H

#include <stddef.h>
#include <stdio.h>

#include "client/sessmon.h"

/* Returns a malloc'd copy of s that is safe to print on a terminal: C0 controls and DEL become
 * \xNN, C1 controls, bidirectional overrides/isolates and line/paragraph separators become
 * \uNNNN, bytes that are not UTF-8 become \xNN, and a backslash becomes \\ (so the output is
 * unambiguous). NULL s gives "". NULL only when out of memory. */
char *smt_cli_escape(const char *s);
/* The same for a message meant to be read (a server's error text): a backslash stays one
 * backslash, so the message reads exactly as docs/protocol.md gives it. */
char *smt_cli_escape_message(const char *s);

/* Terminal columns taken by an escaped string (wide characters count 2). */
size_t smt_cli_width(const char *escaped);

/* Writes s as a JSON string. Beyond what JSON requires, DEL, C1 controls, bidi controls and
 * U+2028/U+2029 are written as \uNNNN too, so NDJSON is safe to view raw on a terminal. */
void smt_cli_json_string(FILE *f, const char *s);
/* Writes {"key":"value",...}; a NULL value is written as null. */
void smt_cli_json_props(FILE *f, const sm_property *props, size_t n);

/* Display order of property keys: fixed ($) keys in their canonical order, then the rest by
 * byte order. qsort-compatible over const char * elements. */
int smt_cli_key_cmp(const void *a, const void *b);

/* An aligned text table. Cells are escaped when added. */
typedef struct smt_cli_table {
    size_t cols;
    size_t rows;
    size_t cap;
    char **cells;   /* rows * cols escaped strings */
    size_t *widths; /* per column */
} smt_cli_table;

int smt_cli_table_init(smt_cli_table *t, size_t cols);
/* Adds a row of cols raw (untrusted) strings; NULL cells print as "-". 0 or -1 (no memory). */
int smt_cli_table_add(smt_cli_table *t, const char *const *cells);
/* Prints every row, columns separated by two spaces; the first row is the header. */
void smt_cli_table_print(const smt_cli_table *t, FILE *f);
void smt_cli_table_free(smt_cli_table *t);

#endif
