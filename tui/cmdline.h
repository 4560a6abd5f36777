/* The monitor's `:` command line: its commands, Tab completion, the history kept under XDG state
 * and the named filters kept under XDG config. */
#ifndef SMT_TUI_CMDLINE_H
#define SMT_TUI_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/filter.h"
#include "tui/services.h"

#define SMT_CMD_HISTORY_MAX 200   /* command lines remembered (and kept in the file) */
#define SMT_CMD_FILTERS_MAX 100   /* named filters */
#define SMT_CMD_NAME_MAX 32       /* a named filter's name: letters, digits, _ . - */
#define SMT_CMD_CANDIDATES 8      /* completions listed in the prompt's label */

typedef struct smt_named_filter {
    char name[SMT_CMD_NAME_MAX + 1];
    char filter[SM_FILTER_MAX + 1];
} smt_named_filter;

typedef struct smt_cmdline {
    smt_app *app;
    char history_path[1024]; /* "" = not kept */
    char filters_path[1024]; /* "" = not kept */
    bool loaded;
    char *history[SMT_CMD_HISTORY_MAX]; /* oldest first */
    size_t nhistory;
    size_t browse; /* Up/Down position: nhistory = the line being typed */
    char typed[SM_FILTER_MAX + 1];
    smt_named_filter *filters; /* SMT_CMD_FILTERS_MAX */
    size_t nfilters;
    char label[400]; /* the completions offered by the last Tab */
    size_t ncands;
} smt_cmdline;

/* The history file ($XDG_STATE_HOME/sessmon/history, else ~/.local/state/sessmon/history) and the
 * named filters file ($XDG_CONFIG_HOME/sessmon/filters, else ~/.config/sessmon/filters). */
bool smt_cmdline_history_path(char *out, size_t cap);
bool smt_cmdline_filters_path(char *out, size_t cap);

int smt_cmdline_init(smt_cmdline *c, smt_app *app);
void smt_cmdline_free(smt_cmdline *c);
/* Reads the history and the named filters (once; missing files are empty). */
void smt_cmdline_load(smt_cmdline *c);

/* Runs one command line (without the ':'); says what happened in the status line. Returns false
 * when it was not understood or failed (the message says why). Remembered in the history either way. */
bool smt_cmdline_run(smt_cmdline *c, const char *line);
/* Tab: completes the word before the end of line in place; lists the choices in c->label when
 * more than one fits. Returns the number of candidates. */
size_t smt_cmdline_complete(smt_cmdline *c, char *line, size_t cap);

const smt_named_filter *smt_cmdline_find_filter(const smt_cmdline *c, const char *name);

/* Writes the rows of the view, in its order (closed rows still fading out left out): NDJSON (every property, $State added) or, when path
 * ends in .csv, CSV of the shown columns as displayed. Returns rows written or -1 (err says why). */
long smt_cmdline_export(smt_app *app, const char *path, char *err, size_t errcap);


#endif
