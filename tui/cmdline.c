/* The monitor's `:` command line: commands, completion, history (XDG state) and named filters (XDG config). */
#include "tui/cmdline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <curses.h>

#include "tui/pane.h"
#include "tui/pane_group.h"
#include "tui/screen.h"
#include "tui/text.h"
#include "tui/theme.h"

#define LINE_CAP (SM_FILTER_MAX + 64)

/* ---- files ---- */

static bool xdg_path(const char *env, const char *fallback, const char *file, char *out, size_t cap)
{
    const char *xdg = getenv(env), *home = getenv("HOME");
    int n;
    if (xdg && xdg[0] == '/')
        n = snprintf(out, cap, "%s/sessmon/%s", xdg, file);
    else if (home && home[0] == '/')
        n = snprintf(out, cap, "%s/%s/sessmon/%s", home, fallback, file);
    else
        return false;
    return n > 0 && (size_t)n < cap;
}

bool smt_cmdline_history_path(char *out, size_t cap)
{
    return xdg_path("XDG_STATE_HOME", ".local/state", "history", out, cap);
}

bool smt_cmdline_filters_path(char *out, size_t cap)
{
    return xdg_path("XDG_CONFIG_HOME", ".config", "filters", out, cap);
}

/* mkdir -p of the directory part of path (0700 for what it creates). */
static bool make_parent(const char *path)
{
    char dir[1024];
    if (smt_text_printf(dir, sizeof dir, "%s", path) >= sizeof dir)
        return false;
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return true;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    return mkdir(dir, 0700) == 0 || errno == EEXIST;
}

/* Reads lines (without the newline) of at most LINE_CAP bytes; longer ones are skipped. */
static void read_lines(const char *path, void (*fn)(void *ctx, char *line), void *ctx)
{
    FILE *f = path[0] ? fopen(path, "r") : NULL;
    if (!f)
        return;
    char line[LINE_CAP + 2];
    bool skipping = false;
    while (fgets(line, sizeof line, f)) {
        size_t n = strlen(line);
        bool complete = n > 0 && line[n - 1] == '\n';
        if (complete)
            line[--n] = '\0';
        if (!skipping && complete && n > 0)
            fn(ctx, line);
        skipping = !complete; /* the rest of an over-long line */
    }
    fclose(f);
}

/* Writes through a temporary file and a rename, so a crash never leaves half a file. */
static bool write_file(const char *path, void (*fn)(void *ctx, FILE *f), void *ctx, char *err, size_t errcap)
{
    char tmp[1100];
    if (!path[0] || !make_parent(path) || smt_text_printf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) {
        smt_text_printf(err, errcap, "cannot create the directory of %s", path[0] ? path : "(no HOME)");
        return false;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        smt_text_printf(err, errcap, "cannot write %s: %s", tmp, strerror(errno));
        return false;
    }
    fn(ctx, f);
    bool ok = !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        smt_text_printf(err, errcap, "cannot write %s: %s", path, strerror(errno));
        remove(tmp);
        return false;
    }
    return true;
}

static void history_line(void *ctx, char *line)
{
    smt_cmdline *c = ctx;
    if (c->nhistory == SMT_CMD_HISTORY_MAX) {
        free(c->history[0]);
        memmove(c->history, c->history + 1, (SMT_CMD_HISTORY_MAX - 1) * sizeof *c->history);
        c->nhistory--;
    }
    char *copy = strdup(line);
    if (copy)
        c->history[c->nhistory++] = copy;
}

static bool valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > SMT_CMD_NAME_MAX)
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') || *n == '_' ||
              *n == '-' || *n == '.'))
            return false;
    return true;
}

static void filter_line(void *ctx, char *line)
{
    smt_cmdline *c = ctx;
    char *tab = strchr(line, '\t');
    if (!tab || c->nfilters >= SMT_CMD_FILTERS_MAX)
        return;
    *tab = '\0';
    if (!valid_name(line) || strlen(tab + 1) > SM_FILTER_MAX || smt_cmdline_find_filter(c, line))
        return;
    smt_named_filter *nf = &c->filters[c->nfilters++];
    smt_text_printf(nf->name, sizeof nf->name, "%s", line);
    smt_text_printf(nf->filter, sizeof nf->filter, "%s", tab + 1);
}

void smt_cmdline_load(smt_cmdline *c)
{
    if (c->loaded)
        return;
    c->loaded = true;
    read_lines(c->history_path, history_line, c);
    read_lines(c->filters_path, filter_line, c);
    c->browse = c->nhistory;
}

static void write_history(void *ctx, FILE *f)
{
    smt_cmdline *c = ctx;
    for (size_t i = 0; i < c->nhistory; i++)
        fprintf(f, "%s\n", c->history[i]);
}

static void write_filters(void *ctx, FILE *f)
{
    smt_cmdline *c = ctx;
    for (size_t i = 0; i < c->nfilters; i++)
        fprintf(f, "%s\t%s\n", c->filters[i].name, c->filters[i].filter);
}

/* A line of history: one line, no control characters (they would split or garble the file). */
static void remember(smt_cmdline *c, const char *line)
{
    char clean[LINE_CAP + 1];
    size_t n = 0;
    for (const char *s = line; *s && n < LINE_CAP; s++)
        clean[n++] = (unsigned char)*s < 0x20 ? ' ' : *s;
    clean[n] = '\0';
    smt_text_trim(clean);
    if (!clean[0] || (c->nhistory && strcmp(c->history[c->nhistory - 1], clean) == 0)) {
        c->browse = c->nhistory;
        return;
    }
    history_line(c, clean);
    c->browse = c->nhistory;
    char err[256];
    if (c->history_path[0] && !write_file(c->history_path, write_history, c, err, sizeof err))
        smt_eventlog_add(&c->app->log, c->app->wall, SMT_LOGL_WARN, "command history not saved: %s", err);
}

int smt_cmdline_init(smt_cmdline *c, smt_app *app)
{
    memset(c, 0, sizeof *c);
    c->app = app;
    c->filters = calloc(SMT_CMD_FILTERS_MAX, sizeof *c->filters);
    if (!c->filters)
        return -1;
    if (!smt_cmdline_history_path(c->history_path, sizeof c->history_path))
        c->history_path[0] = '\0';
    if (!smt_cmdline_filters_path(c->filters_path, sizeof c->filters_path))
        c->filters_path[0] = '\0';
    smt_text_printf(c->label, sizeof c->label, ":");
    return 0;
}

void smt_cmdline_free(smt_cmdline *c)
{
    for (size_t i = 0; i < c->nhistory; i++)
        free(c->history[i]);
    free(c->filters);
    memset(c, 0, sizeof *c);
}

const smt_named_filter *smt_cmdline_find_filter(const smt_cmdline *c, const char *name)
{
    for (size_t i = 0; i < c->nfilters; i++)
        if (strcmp(c->filters[i].name, name) == 0)
            return &c->filters[i];
    return NULL;
}

/* ---- export ---- */

static void csv_field(FILE *f, const char *s)
{
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

long smt_cmdline_export(smt_app *app, const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        smt_text_printf(err, errcap, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    bool csv = ends_with(path, ".csv");
    size_t n = smt_view_count(app->view);
    if (csv) {
        for (int c = 0; c < app->ncols; c++) {
            if (c)
                fputc(',', f);
            csv_field(f, strcmp(app->cols[c].key, SMT_COL_STATE) == 0 ? "$State" : app->cols[c].key);
        }
        fputs("\r\n", f);
    }
    char buf[64];
    long written = 0;
    for (size_t i = 0; i < n; i++) {
        const smt_row *r = smt_view_at(app->view, i);
        if (!r || r->state == SM_REMOTE_CLOSED) /* closed rows still fading out are no sessions any more */
            continue;
        written++;
        if (csv) {
            for (int c = 0; c < app->ncols; c++) {
                if (c)
                    fputc(',', f);
                csv_field(f, smt_ui_cell_text(r, app->cols[c].key, buf, sizeof buf));
            }
            fputs("\r\n", f);
            continue;
        }
        fputs("{\"$SessionId\":", f);
        smt_json_string(f, r->id);
        fputs(",\"$State\":", f);
        smt_json_string(f, smt_ui_cell_text(r, SMT_COL_STATE, buf, sizeof buf));
        for (uint32_t p = 0; p < r->nprops; p++) {
            if (strcmp(r->props[p].key, SM_PROP_SESSION_ID) == 0)
                continue;
            fputc(',', f);
            smt_json_string(f, r->props[p].key);
            fputc(':', f);
            smt_json_string(f, r->props[p].value);
        }
        fputs("}\n", f);
    }
    bool ok = !ferror(f);
    if (fclose(f) != 0 || !ok) {
        smt_text_printf(err, errcap, "writing %s failed: %s", path, strerror(errno));
        return -1;
    }
    return written;
}

/* ---- commands ---- */

typedef struct command {
    const char *name;
    const char *usage;
    bool (*run)(smt_cmdline *c, char *args);
} command;

static const char *column_key(const char *k)
{
    return strcmp(k, "$State") == 0 ? SMT_COL_STATE : k;
}

static bool cmd_filter(smt_cmdline *c, char *args)
{
    smt_app *app = c->app;
    const char *text = args;
    if (args[0] == '@') {
        const smt_named_filter *nf = smt_cmdline_find_filter(c, args + 1);
        if (!nf) {
            smt_ui_message(app, SMT_LOGL_WARN, "no filter named %s (:filters lists them)", args + 1);
            return false;
        }
        text = nf->filter;
    }
    sm_error err;
    sm_error_clear(&err);
    if (smt_view_set_filter(app->view, text, &err) != SM_OK) {
        smt_ui_message(app, SMT_LOGL_ERROR, "%s", err.message);
        return false;
    }
    smt_ui_message(app, SMT_LOGL_INFO, text[0] ? "filter: %s" : "filter cleared%s", text);
    return true;
}

static bool cmd_use(smt_cmdline *c, char *args)
{
    char at[SMT_CMD_NAME_MAX + 3];
    if (!args[0]) {
        smt_ui_message(c->app, SMT_LOGL_WARN, "usage: :use NAME (:filters lists them)");
        return false;
    }
    smt_text_printf(at, sizeof at, "@%s", args);
    return cmd_filter(c, at);
}

static bool cmd_filters(smt_cmdline *c, char *args)
{
    (void)args;
    if (!c->nfilters) {
        smt_ui_message(c->app, SMT_LOGL_INFO, "no named filters yet (:save-filter NAME saves the view filter)");
        return true;
    }
    char list[300];
    size_t n = 0;
    for (size_t i = 0; i < c->nfilters && n + 1 < sizeof list; i++)
        n += smt_text_printf(list + n, sizeof list - n, "%s%s", i ? " " : "", c->filters[i].name);
    smt_ui_message(c->app, SMT_LOGL_INFO, "named filters (:use NAME): %s", list);
    for (size_t i = 0; i < c->nfilters; i++) /* the whole text of each, in the log */
        smt_eventlog_add(&c->app->log, c->app->wall, SMT_LOGL_INFO, "filter %s: %s", c->filters[i].name,
                         c->filters[i].filter);
    return true;
}

static bool cmd_save_filter(smt_cmdline *c, char *args)
{
    smt_app *app = c->app;
    char *text = strchr(args, ' ');
    if (text)
        *text++ = '\0';
    if (!valid_name(args)) {
        smt_ui_message(app, SMT_LOGL_WARN, "usage: :save-filter NAME [FILTER] (NAME: up to %d letters, digits, _ . -)",
                       SMT_CMD_NAME_MAX);
        return false;
    }
    const char *filter = text && *smt_text_trim(text) ? text : smt_view_filter_text(app->view);
    if (!filter[0]) {
        smt_ui_message(app, SMT_LOGL_WARN, "no view filter to save (set one with f or :filter)");
        return false;
    }
    sm_filter *f = NULL;
    sm_error err;
    sm_error_clear(&err);
    if (sm_filter_parse(filter, strlen(filter), &f, &err) != SM_OK) {
        smt_ui_message(app, SMT_LOGL_ERROR, "%s", err.message);
        return false;
    }
    sm_filter_free(f);
    smt_named_filter *nf = (smt_named_filter *)smt_cmdline_find_filter(c, args);
    if (!nf) {
        if (c->nfilters >= SMT_CMD_FILTERS_MAX) {
            smt_ui_message(app, SMT_LOGL_WARN, "already %d named filters: delete one first (:delete-filter NAME)",
                           SMT_CMD_FILTERS_MAX);
            return false;
        }
        nf = &c->filters[c->nfilters++];
        smt_text_printf(nf->name, sizeof nf->name, "%s", args);
    }
    smt_text_printf(nf->filter, sizeof nf->filter, "%s", filter);
    char e[256];
    if (!write_file(c->filters_path, write_filters, c, e, sizeof e)) {
        smt_ui_message(app, SMT_LOGL_ERROR, "filter %s kept for this run only: %s", args, e);
        return false;
    }
    smt_ui_message(app, SMT_LOGL_INFO, "filter %s saved to %s (:use %s applies it)", args, c->filters_path, args);
    return true;
}

static bool cmd_delete_filter(smt_cmdline *c, char *args)
{
    for (size_t i = 0; i < c->nfilters; i++) {
        if (strcmp(c->filters[i].name, args) != 0)
            continue;
        memmove(&c->filters[i], &c->filters[i + 1], (c->nfilters - i - 1) * sizeof *c->filters);
        c->nfilters--;
        char e[256];
        if (!write_file(c->filters_path, write_filters, c, e, sizeof e)) {
            smt_ui_message(c->app, SMT_LOGL_ERROR, "%s", e);
            return false;
        }
        smt_ui_message(c->app, SMT_LOGL_INFO, "filter %s deleted", args);
        return true;
    }
    smt_ui_message(c->app, SMT_LOGL_WARN, "no filter named %s", args);
    return false;
}

static bool cmd_sort(smt_cmdline *c, char *args)
{
    smt_app *app = c->app;
    char *dir = strchr(args, ' ');
    if (dir)
        *dir++ = '\0';
    if (!args[0] || (dir && strcmp(smt_text_trim(dir), "asc") != 0 && strcmp(dir, "desc") != 0)) {
        smt_ui_message(app, SMT_LOGL_WARN, "usage: :sort KEY [asc|desc]");
        return false;
    }
    bool desc = dir && strcmp(dir, "desc") == 0;
    if (smt_view_set_sort(app->view, column_key(args), desc) != SM_OK) {
        smt_ui_message(app, SMT_LOGL_ERROR, "cannot sort by %s", args);
        return false;
    }
    smt_ui_message(app, SMT_LOGL_INFO, "sorted by %s, %s", args, desc ? "descending" : "ascending");
    return true;
}

static bool cmd_group(smt_cmdline *c, char *args)
{
    smt_app *app = c->app;
    if (!args[0]) {
        smt_ui_message(app, SMT_LOGL_WARN, "usage: :group KEY (any key, or $State)");
        return false;
    }
    smt_group_pane *g = smt_app_pane_state(app, "group");
    char err[160];
    if (!g || !smt_app_open_pane(app, "group") || !smt_group_set_key(g, args, err, sizeof err)) {
        smt_ui_message(app, SMT_LOGL_WARN, "%s", g ? err : "no group-by pane");
        return false;
    }
    return true;
}

static bool cmd_columns(smt_cmdline *c, char *args)
{
    smt_app *app = c->app;
    if (!args[0]) {
        smt_ui_message(app, SMT_LOGL_WARN, "usage: :columns KEY... | +KEY | -KEY | reset");
        return false;
    }
    if (strcmp(args, "reset") == 0) {
        smt_ui_reset_columns(app);
        smt_ui_message(app, SMT_LOGL_INFO, "default columns");
        return true;
    }
    char *save = NULL;
    bool replaced = false;
    int added = 0, removed = 0, refused = 0;
    for (char *tok = strtok_r(args, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
        if (tok[0] == '-' && tok[1]) {
            int i = smt_ui_column_index(app, column_key(tok + 1));
            if (i >= 0) {
                smt_ui_column_remove(app, i);
                removed++;
            } else {
                refused++;
            }
            continue;
        }
        const char *k = tok[0] == '+' ? tok + 1 : tok;
        if (tok[0] != '+' && !replaced) { /* a plain list replaces the columns */
            app->ncols = 0;
            app->hscroll = 0;
            replaced = true;
        }
        if (*k && smt_ui_column_add(app, column_key(k)))
            added++;
        else
            refused++;
    }
    if (replaced && app->ncols == 0)
        smt_ui_reset_columns(app);
    app->cols_custom = true;
    smt_ui_message(app, refused ? SMT_LOGL_WARN : SMT_LOGL_INFO, "columns: %d added, %d removed%s%s", added,
                   removed, refused ? ", some refused (unknown, duplicate or too many)" : "",
                   " (w in the column chooser saves them)");
    return refused == 0;
}

static bool cmd_close(smt_cmdline *c, char *args)
{
    smt_app *app = c->app;
    if (!smt_ui_guard_write(app, "closing sessions"))
        return false;
    /* No filter: the tagged sessions, else the cursor's (the close pane decides, as D does). */
    char err[256] = "";
    if (!smt_close_open_by_filter(app, args, err, sizeof err)) {
        smt_ui_message(app, SMT_LOGL_WARN, "%s", err[0] ? err : "close refused");
        return false;
    }
    return true;
}

static bool cmd_theme(smt_cmdline *c, char *args)
{
    smt_app *app = c->app;
    smt_theme t;
    sm_error err;
    sm_error_clear(&err);
    if (!args[0] || smt_theme_resolve(args, &t, NULL, 0, &err) != SM_OK) {
        smt_ui_message(app, SMT_LOGL_WARN, "%s", args[0] ? err.message : "usage: :theme NAME (Tab lists them)");
        return false;
    }
    app->theme = t;
    app->allow_color = true;
    smt_app_apply_theme(app);
    smt_ui_message(app, SMT_LOGL_INFO, "theme: %s (%s)", t.name, t.description);
    return true;
}

static bool cmd_export(smt_cmdline *c, char *args)
{
    smt_app *app = c->app;
    if (!args[0]) {
        smt_ui_message(app, SMT_LOGL_WARN, "usage: :export FILE (.csv: the shown columns; else NDJSON)");
        return false;
    }
    char err[256];
    long n = smt_cmdline_export(app, args, err, sizeof err);
    if (n < 0) {
        smt_ui_message(app, SMT_LOGL_ERROR, "%s", err);
        return false;
    }
    smt_ui_message(app, SMT_LOGL_INFO, "exported %ld session%s to %s (%s)", n, n == 1 ? "" : "s", args,
                   ends_with(args, ".csv") ? "CSV" : "NDJSON");
    return true;
}

static bool cmd_help(smt_cmdline *c, char *args);

static const command commands[] = {
    {"filter", "FILTER | @NAME", cmd_filter},
    {"sort", "KEY [asc|desc]", cmd_sort},
    {"group", "KEY", cmd_group},
    {"columns", "KEY... | +KEY | -KEY | reset", cmd_columns},
    {"close", "[FILTER]", cmd_close},
    {"theme", "NAME", cmd_theme},
    {"save-filter", "NAME [FILTER]", cmd_save_filter},
    {"use", "NAME", cmd_use},
    {"filters", "", cmd_filters},
    {"delete-filter", "NAME", cmd_delete_filter},
    {"export", "FILE", cmd_export},
    {"help", "", cmd_help},
};
#define NCOMMANDS (sizeof commands / sizeof *commands)

static bool cmd_help(smt_cmdline *c, char *args)
{
    (void)args;
    char list[400];
    size_t n = 0;
    for (size_t i = 0; i < NCOMMANDS && n + 1 < sizeof list; i++)
        n += smt_text_printf(list + n, sizeof list - n, "%s:%s", i ? " " : "", commands[i].name);
    smt_ui_message(c->app, SMT_LOGL_INFO, "commands: %s (Tab completes)", list);
    return true;
}

bool smt_cmdline_run(smt_cmdline *c, const char *line)
{
    char buf[LINE_CAP + 1];
    smt_text_printf(buf, sizeof buf, "%s", line);
    remember(c, buf);
    char *s = smt_text_trim(buf);
    if (*s == ':')
        s = smt_text_trim(s + 1);
    if (!*s)
        return true;
    char *args = s + strcspn(s, " ");
    if (*args)
        *args++ = '\0';
    args = smt_text_trim(args);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, s) == 0)
            return commands[i].run(c, args);
    /* a unique prefix will do (:gr $Country) */
    const command *found = NULL;
    size_t matches = 0;
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strncmp(commands[i].name, s, strlen(s)) == 0) {
            found = &commands[i];
            matches++;
        }
    if (matches == 1)
        return found->run(c, args);
    char esc[64];
    smt_text_escape(s, strlen(s), esc, sizeof esc);
    smt_ui_message(c->app, SMT_LOGL_WARN, "%s command: %s (:help lists them)", matches ? "ambiguous" : "unknown",
                   esc);
    return false;
}

/* ---- completion ---- */

typedef struct candidates {
    const char *prefix;
    size_t plen;
    char found[SMT_CMD_CANDIDATES * 2][SM_KEY_MAX + 2];
    size_t n, total;
    char common[SM_KEY_MAX + 2];
} candidates;

static void offer(candidates *cs, const char *word)
{
    if (strncmp(word, cs->prefix, cs->plen) != 0)
        return;
    for (size_t i = 0; i < cs->n; i++)
        if (strcmp(cs->found[i], word) == 0)
            return;
    if (cs->total == 0) {
        smt_text_printf(cs->common, sizeof cs->common, "%s", word);
    } else {
        size_t k = 0;
        while (cs->common[k] && cs->common[k] == word[k])
            k++;
        cs->common[k] = '\0';
    }
    cs->total++;
    if (cs->n < sizeof cs->found / sizeof *cs->found)
        smt_text_printf(cs->found[cs->n++], sizeof cs->found[0], "%s", word);
}

static void offer_keys(smt_cmdline *c, candidates *cs)
{
    offer(cs, "$State");
    for (size_t i = 0; i < smt_model_key_count(c->app->model); i++)
        offer(cs, smt_model_key_at(c->app->model, i)->key);
}

size_t smt_cmdline_complete(smt_cmdline *c, char *line, size_t cap)
{
    smt_text_printf(c->label, sizeof c->label, ":");
    size_t len = strlen(line);
    size_t start = len;
    while (start > 0 && line[start - 1] != ' ' && line[start - 1] != ',')
        start--;
    const char *word = line + start;
    bool first = true;
    for (size_t i = 0; i < start; i++)
        if (line[i] != ' ')
            first = false;
    char cmd[32] = "";
    if (!first)
        sscanf(line, " %31s", cmd);
    size_t skip = (!first && (word[0] == '+' || word[0] == '-' || word[0] == '@')) ? 1 : 0;
    candidates cs = {.prefix = word + skip, .plen = strlen(word + skip)};
    if (first) {
        for (size_t i = 0; i < NCOMMANDS; i++)
            offer(&cs, commands[i].name);
    } else if (strcmp(cmd, "sort") == 0 || strcmp(cmd, "group") == 0 || strcmp(cmd, "columns") == 0 ||
               (strcmp(cmd, "filter") == 0 && !skip) || strcmp(cmd, "close") == 0) {
        if (strcmp(cmd, "sort") == 0 && start > 5 && strchr(line + 5, ' ') && strchr(line + 5, ' ') < word) {
            offer(&cs, "asc");
            offer(&cs, "desc");
        } else {
            offer_keys(c, &cs);
        }
    } else if (strcmp(cmd, "theme") == 0) {
        static char names[SMT_UI_MAX_THEMES][SMT_THEME_NAME_MAX];
        size_t n = smt_theme_list(names, SMT_UI_MAX_THEMES);
        for (size_t i = 0; i < n; i++)
            offer(&cs, names[i]);
    } else if (strcmp(cmd, "use") == 0 || strcmp(cmd, "delete-filter") == 0 || strcmp(cmd, "filter") == 0 ||
               strcmp(cmd, "save-filter") == 0) {
        for (size_t i = 0; i < c->nfilters; i++)
            offer(&cs, c->filters[i].name);
    }
    if (cs.total == 0)
        return 0;
    size_t at = start + skip;
    if (cs.total == 1) {
        smt_text_printf(line + at, cap - at, "%s%s", cs.common, first ? " " : "");
        return 1;
    }
    smt_text_printf(line + at, cap - at, "%s", cs.common);
    size_t n = smt_text_printf(c->label, sizeof c->label, "(");
    for (size_t i = 0; i < cs.n && n + 2 < sizeof c->label; i++)
        n += smt_text_printf(c->label + n, sizeof c->label - n, "%s%s", i ? " " : "", cs.found[i]);
    if (cs.total > cs.n)
        n += smt_text_printf(c->label + n, sizeof c->label - n, " +%zu", cs.total - cs.n);
    smt_text_printf(c->label + n, sizeof c->label - n, ") :");
    return cs.total;
}

/* ---- the command pane: what can be typed, shown under the table while the prompt is open ---- */

static bool cmd_accept(void *owner)
{
    smt_cmdline *c = owner;
    smt_app *app = c->app;
    char line[LINE_CAP + 1];
    smt_text_printf(line, sizeof line, "%s", app->prompt.line.buf);
    if (!*smt_text_trim(line))
        return false; /* nothing typed: the command line stays */
    smt_app_close_prompt(app); /* a command may open a prompt or a pane of its own */
    smt_app_close_pane(app, "cmdline");
    smt_cmdline_run(c, line);
    return false; /* already closed */
}

static bool cmd_key(void *owner, int32_t key)
{
    smt_cmdline *c = owner;
    smt_prompt *p = &c->app->prompt;
    if (key == SMT_KEY_ESC) {
        smt_app_close_prompt(c->app);
        smt_app_close_pane(c->app, "cmdline");
        return true;
    }
    if (key == '\t') {
        char line[SMT_LINE_MAX + 1];
        smt_text_printf(line, sizeof line, "%s", p->line.buf);
        c->ncands = smt_cmdline_complete(c, line, sizeof line);
        smt_line_set(&p->line, line);
        return true;
    }
    bool up = key == SMT_KEY_FN(KEY_UP), down = key == SMT_KEY_FN(KEY_DOWN);
    if (!up && !down)
        return false;
    if (c->browse == c->nhistory) /* leaving the line being typed: keep it for Down */
        smt_text_printf(c->typed, sizeof c->typed, "%s", p->line.buf);
    if (up && c->browse > 0)
        c->browse--;
    else if (down && c->browse < c->nhistory)
        c->browse++;
    smt_line_set(&p->line, c->browse < c->nhistory ? c->history[c->browse] : c->typed);
    return true;
}

static bool cmdline_open(void *state)
{
    smt_cmdline *c = state;
    smt_cmdline_load(c);
    c->browse = c->nhistory;
    c->ncands = 0;
    smt_text_printf(c->label, sizeof c->label, ":");
    smt_prompt *p = smt_app_start_prompt(c->app, SMT_PROMPT_COMMAND, ":", "", NULL, cmd_accept, c);
    p->key = cmd_key;
    return true;
}

static void cmdline_draw(void *state, int y, int h)
{
    smt_cmdline *c = state;
    int w = c->app->screen_cols;
    smt_screen_str(y, 0, w, " Command line: Tab completes, Up/Down history, Enter runs, Esc closes",
                   SMT_ROLE_PANE_TITLE);
    char buf[SM_FILTER_MAX + 64];
    int line = y + 1;
    for (int i = 1; i < h; i++)
        smt_screen_fill(y + i, 0, w, SMT_ROLE_PANE);
    if (c->ncands > 1 && line < y + h) {
        smt_text_printf(buf, sizeof buf, " Tab: %s", c->label);
        smt_screen_str(line++, 0, w, buf, SMT_ROLE_INSPECT_CHANGED);
    }
    int half = w / 2;
    int top = line;
    for (size_t i = 0; i < NCOMMANDS && line < y + h; i++, line++) {
        smt_text_printf(buf, sizeof buf, "  :%s %s", commands[i].name, commands[i].usage);
        smt_screen_str(line, 0, half, buf, SMT_ROLE_PANE);
    }
    line = top; /* the right half: named filters, then the latest history */
    for (size_t i = 0; i < c->nfilters && line < y + h; i++, line++) {
        smt_text_printf(buf, sizeof buf, "@%s  %s", c->filters[i].name, c->filters[i].filter);
        smt_screen_str(line, half, w - half, buf, SMT_ROLE_INSPECT_KEY);
    }
    for (size_t i = c->nhistory; i > 0 && line < y + h; i--, line++) {
        smt_text_printf(buf, sizeof buf, ":%s", c->history[i - 1]);
        smt_screen_str(line, half, w - half, buf, SMT_ROLE_PANE);
    }
}

static smt_handled cmdline_action(void *state, smt_action a)
{
    smt_cmdline *c = state;
    if (a == SMT_ACT_COMMAND) { /* the prompt was closed some other way: open it again */
        cmdline_open(c);
        return SMT_HANDLED;
    }
    return SMT_UNHANDLED;
}

static void *cmdline_create(smt_app *app)
{
    smt_cmdline *c = malloc(sizeof *c);
    if (!c || smt_cmdline_init(c, app) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

static void cmdline_destroy(void *state)
{
    smt_cmdline_free(state);
    free(state);
}

const smt_pane_ops smt_pane_cmdline = {
    .name = "cmdline",
    .ctx = SMT_CTX_COMMAND,
    .layout = SMT_LAYOUT_SPLIT,
    .open_action = SMT_ACT_COMMAND,
    .hint = " Esc close  : command line",
    .create = cmdline_create,
    .destroy = cmdline_destroy,
    .open = cmdline_open,
    .draw = cmdline_draw,
    .action = cmdline_action,
};
