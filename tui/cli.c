/* The sessmon script subcommands (list, get, set, watch, close) on top of libsessmon. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/sessmon.h"
#include "core/clock.h"
#include "tui/app.h"
#include "tui/password.h"
#include "tui/cli_out.h"

#define CLI_DEFAULT_URL "ws://127.0.0.1:9595"
#define CLI_DEFAULT_TIMEOUT_MS 10000
#define CLI_WATCH_GIVE_UP_MS 30000
#define CLI_MAX_ARGS 4096

static const char *const default_list_keys[] = {"$Principal", "$ClientType", "$ClientIP", "$StartTime"};

/* Everything one subcommand run needs. */
typedef struct cli {
    const char *cmd;
    const char *url;
    const char *principal;
    char password[SM_PASSWORD_MAX];
    bool json;
    bool insecure;
    const char *ca_file;
    int timeout_ms;
    const char *filter;
    const char **keys;
    size_t key_count;
    bool has_after;
    int64_t after;
    sm_property *props; /* KEY=VALUE and --delete KEY (value NULL) */
    size_t prop_count;
    const char **positional;
    size_t positional_count;

    sm_client *client;
    sm_session *session;
    struct watch *watch; /* the running watch, for the session callbacks */
    volatile int connect_done;
    bool opened;
    bool closed;
    sm_client_error close_error;
    volatile int done;
    int exit_code;
} cli;

/* ---- Exit codes and errors ---- */

static int exit_code_for(sm_client_errcode code)
{
    switch (code) {
    case SM_CLIENT_OK: return SM_EXIT_OK;
    case SM_CLIENT_ERR_ACCESS_DENIED:
    case SM_CLIENT_ERR_AUTHENTICATION_FAILED: return SM_EXIT_ACCESS_DENIED;
    case SM_CLIENT_ERR_INVALID_FILTER: return SM_EXIT_INVALID_FILTER;
    case SM_CLIENT_ERR_NO_SUCH_SESSION: return SM_EXIT_NO_SUCH_SESSION;
    case SM_CLIENT_ERR_INVALID_PROPERTY: return SM_EXIT_INVALID_PROPERTY;
    case SM_CLIENT_ERR_INVALID_ARGUMENT: return SM_EXIT_USAGE;
    case SM_CLIENT_ERR_CONNECT_FAILED:
    case SM_CLIENT_ERR_CONNECTION_LOST:
    case SM_CLIENT_ERR_TIMEOUT:
    case SM_CLIENT_ERR_CLOSED:
    case SM_CLIENT_ERR_PROTOCOL: return SM_EXIT_CONNECTION;
    default: return SM_EXIT_FAILURE;
    }
}

static void print_error(const char *what, const sm_client_error *e)
{
    char *msg = sm_cli_escape_message(e->message);
    fprintf(stderr, "sessmon: %s: %s: %s\n", what, sm_client_errcode_name(e->code), msg ? msg : "");
    free(msg);
}

static int fail(const char *what, const sm_client_error *e)
{
    print_error(what, e);
    return exit_code_for(e->code);
}

/* Escaped copy of a command-line argument for an error message (a few rotating buffers). */
static const char *arg_safe(const char *arg)
{
    static char bufs[4][256];
    static unsigned next;
    char *out = bufs[next++ % 4];
    char *e = sm_cli_escape(arg);
    snprintf(out, sizeof bufs[0], "%s", e ? e : "?");
    free(e);
    return out;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sessmon: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(see sessmon --help)\n", stderr);
    return SM_EXIT_USAGE;
}

static void print_help(FILE *f)
{
    fputs("usage: sessmon list  [--filter F] [--keys K,...]\n"
          "       sessmon get   ID [KEY...]\n"
          "       sessmon set   ID KEY=VALUE... [--delete KEY]...\n"
          "       sessmon set   --filter F KEY=VALUE... [--delete KEY]...\n"
          "       sessmon watch [--filter F] [--keys K,...] [--after MS|now]\n"
          "       sessmon close ID | --filter F\n"
          "options: --url URL (default $SESSMON_URL or " CLI_DEFAULT_URL ")\n"
          "         --principal NAME (default $SESSMON_PRINCIPAL, else anonymous)\n"
          "         --json (NDJSON output)  --timeout MS (default 10000)\n"
          "         --ca-file PEM  --insecure (accept a self-signed wss certificate)\n"
          "The password comes from $SESSMON_PASSWORD or a prompt on the terminal.\n"
          "Exit codes: 0 ok, 1 other failure, 2 usage, 3 connection, 4 access denied or\n"
          "authentication failed, 5 invalid filter, 6 no such session, 7 invalid property.\n",
          f);
}

/* ---- Arguments ---- */

static int split_keys(cli *c, char *list)
{
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (!*tok)
            continue;
        const char **bigger = realloc(c->keys, (c->key_count + 1) * sizeof *bigger);
        if (!bigger)
            return -1;
        c->keys = bigger;
        c->keys[c->key_count++] = tok;
    }
    return 0;
}

static int add_prop(cli *c, const char *key, const char *value)
{
    if (c->prop_count >= CLI_MAX_ARGS)
        return -1;
    sm_property *bigger = realloc(c->props, (c->prop_count + 1) * sizeof *bigger);
    if (!bigger)
        return -1;
    c->props = bigger;
    c->props[c->prop_count].key = key;
    c->props[c->prop_count].value = value;
    c->prop_count++;
    return 0;
}

static int parse_after(cli *c, const char *arg)
{
    if (strcmp(arg, "now") == 0) {
        c->after = sm_wall_ms();
        c->has_after = true;
        return 0;
    }
    if (!*arg || strlen(arg) > 16)
        return -1;
    int64_t v = 0;
    for (const char *p = arg; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    c->after = v;
    c->has_after = true;
    return 0;
}

static int parse_timeout(const char *arg, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || *end || v < 1 || v > 86400000)
        return -1;
    *out = (int)v;
    return 0;
}

enum { OPT_URL = 256, OPT_PRINCIPAL, OPT_JSON, OPT_TIMEOUT, OPT_CA_FILE, OPT_INSECURE, OPT_FILTER,
       OPT_KEYS, OPT_AFTER, OPT_DELETE, OPT_PASSWORD };

static int parse_args(cli *c, int argc, char **argv)
{
    static const struct option options[] = {
        {"url", required_argument, NULL, OPT_URL},
        {"principal", required_argument, NULL, OPT_PRINCIPAL},
        {"json", no_argument, NULL, OPT_JSON},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"ca-file", required_argument, NULL, OPT_CA_FILE},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"after", required_argument, NULL, OPT_AFTER},
        {"delete", required_argument, NULL, OPT_DELETE},
        {"password", required_argument, NULL, OPT_PASSWORD},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = c->cmd;
    bool is_list = !strcmp(cmd, "list"), is_watch = !strcmp(cmd, "watch"), is_set = !strcmp(cmd, "set");
    optind = 1;
    opterr = 0;
    int opt;
    /* argv[0] is the subcommand, so getopt starts after it. */
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_URL: c->url = optarg; break;
        case OPT_PRINCIPAL: c->principal = optarg; break;
        case OPT_JSON: c->json = true; break;
        case OPT_CA_FILE: c->ca_file = optarg; break;
        case OPT_INSECURE: c->insecure = true; break;
        case OPT_TIMEOUT:
            if (parse_timeout(optarg, &c->timeout_ms) != 0)
                return usage_error("--timeout wants milliseconds (1..86400000), not '%s'", arg_safe(optarg));
            break;
        case OPT_FILTER:
            if (!strcmp(cmd, "get"))
                return usage_error("%s does not take --filter", arg_safe(cmd));
            c->filter = optarg;
            break;
        case OPT_KEYS:
            if (!is_list && !is_watch)
                return usage_error("%s does not take --keys", arg_safe(cmd));
            if (split_keys(c, optarg) != 0)
                return usage_error("out of memory");
            break;
        case OPT_AFTER:
            if (!is_watch)
                return usage_error("%s does not take --after", arg_safe(cmd));
            if (parse_after(c, optarg) != 0)
                return usage_error("--after wants milliseconds since the epoch or 'now', not '%s'", arg_safe(optarg));
            break;
        case OPT_DELETE:
            if (!is_set)
                return usage_error("%s does not take --delete", arg_safe(cmd));
            if (!*optarg || add_prop(c, optarg, NULL) != 0)
                return usage_error("bad --delete '%s'", arg_safe(optarg));
            break;
        case OPT_PASSWORD:
            return usage_error("passwords are never taken from the command line; set "
                               "SESSMON_PASSWORD or type it at the prompt");
        case 'h':
            print_help(stdout);
            exit(SM_EXIT_OK);
        case ':':
            return usage_error("option '%s' needs a value", arg_safe(argv[optind - 1]));
        default:
            return usage_error("unknown option '%s'", arg_safe(argv[optind - 1]));
        }
    }
    c->positional = (const char **)argv + optind;
    c->positional_count = (size_t)(argc - optind);
    return SM_EXIT_OK;
}

/* ---- Password ---- */

static int resolve_password(cli *c)
{
    switch (sm_password_resolve(c->principal, c->password, sizeof c->password)) {
    case SM_PASSWORD_OK:
        return SM_EXIT_OK;
    case SM_PASSWORD_TOO_LONG:
        return usage_error("SESSMON_PASSWORD is too long");
    case SM_PASSWORD_NO_TERMINAL:
        break;
    }
    return usage_error("no terminal to ask for the password of '%s': set SESSMON_PASSWORD", arg_safe(c->principal));
}

/* ---- Connection ---- */

static void on_session_open(sm_session *s, const sm_session_info *info, void *context)
{
    (void)s;
    (void)info;
    cli *c = context;
    c->opened = true;
    c->connect_done = 1;
}

static void on_session_close(sm_session *s, sm_reason reason, const sm_client_error *err, void *context)
{
    (void)s;
    (void)reason;
    cli *c = context;
    c->closed = true;
    c->close_error = *err;
    c->done = 1;
    c->connect_done = 1;
}

static bool starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if ((*s | 0x20) != (*prefix | 0x20))
            return false;
    return true;
}

/* Connects and waits for the session to open. Returns an exit code. */
static int cli_connect(cli *c, sm_session_params *sp)
{
    sm_client_error err = {0, ""};
    sm_client_params cp = {.max_sessions = 1, .ca_file = c->ca_file, .no_tls = !starts_with_ci(c->url, "wss://")};
    c->client = sm_client_new(&cp, &err);
    if (!c->client)
        return fail("cannot start the client", &err);
    sp->url = c->url;
    sp->principal = c->principal;
    sp->password = c->principal[0] ? c->password : NULL;
    sp->client_type = "C";
    sp->environment = "sessmon-cli";
    sp->allow_self_signed = c->insecure;
    sp->connect_timeout_ms = c->timeout_ms;
    sp->on_open = on_session_open;
    sp->on_close = on_session_close;
    sp->context = c;
    c->session = sm_session_open(c->client, sp, &err);
    if (!c->session)
        return err.code == SM_CLIENT_ERR_INVALID_ARGUMENT ? usage_error("%s", arg_safe(err.message)) : fail("cannot open a session", &err);
    sm_client_run_until(c->client, &c->connect_done, c->timeout_ms);
    if (c->closed)
        return fail("cannot open a session", &c->close_error);
    if (!c->opened) {
        sm_client_error t = {SM_CLIENT_ERR_TIMEOUT, ""};
        snprintf(t.message, sizeof t.message, "no session within %d ms", c->timeout_ms);
        return fail("cannot open a session", &t);
    }
    return SM_EXIT_OK;
}

/* get, set, close and list do their work once: a lost connection is an error, not a reason to reconnect. */
static int cli_connect_once(cli *c)
{
    sm_session_params sp = {0};
    sp.no_reconnect = true;
    return cli_connect(c, &sp);
}

/* The result of set or close by filter. */
static void print_count(const cli *c, uint64_t count, const char *verb)
{
    if (c->json)
        printf("{\"count\":%llu}\n", (unsigned long long)count);
    else
        printf("%llu session%s %s\n", (unsigned long long)count, count == 1 ? "" : "s", verb);
}

/* Closes our own session cleanly (so the server does not keep it DISCONNECTED), then frees. */
static void cli_disconnect(cli *c)
{
    if (c->session && !c->closed && sm_session_close(c->session, NULL) == SM_CLIENT_OK) {
        c->done = 0;
        sm_client_run_until(c->client, &c->done, 2000);
    }
    sm_client_free(c->client);
    c->client = NULL;
    c->session = NULL;
}

/* ---- One-shot requests ---- */

typedef struct reply_wait {
    volatile int done;
    sm_client_error error;
    bool failed;
    sm_property *props; /* deep copies */
    size_t prop_count;
    uint64_t count;
} reply_wait;

static void on_reply(sm_session *s, const sm_reply *r, void *context)
{
    (void)s;
    reply_wait *w = context;
    w->done = 1;
    if (r->error) {
        w->failed = true;
        w->error = *r->error;
        return;
    }
    w->count = r->count;
    if (r->property_count) {
        w->props = calloc(r->property_count, sizeof *w->props);
        if (!w->props) {
            w->failed = true;
            w->error.code = SM_CLIENT_ERR_NOMEM;
            snprintf(w->error.message, sizeof w->error.message, "out of memory");
            return;
        }
        for (size_t i = 0; i < r->property_count; i++) {
            char *key = strdup(r->properties[i].key);
            char *value = r->properties[i].value ? strdup(r->properties[i].value) : NULL;
            if (!key || (r->properties[i].value && !value)) {
                free(key);
                free(value);
                w->failed = true;
                w->error.code = SM_CLIENT_ERR_NOMEM;
                snprintf(w->error.message, sizeof w->error.message, "out of memory");
                return; /* the copies made so far are freed by free_reply */
            }
            w->props[i].key = key;
            w->props[i].value = value;
            w->prop_count = i + 1;
        }
    }
}

static void free_reply(reply_wait *w)
{
    for (size_t i = 0; i < w->prop_count; i++) {
        free((char *)w->props[i].key);
        free((char *)w->props[i].value);
    }
    free(w->props);
}

/* Waits for the reply; returns an exit code (the error is printed). */
static int wait_reply(cli *c, reply_wait *w, const char *what)
{
    sm_client_run_until(c->client, &w->done, c->timeout_ms + 1000);
    if (!w->done) {
        sm_client_error t = {SM_CLIENT_ERR_TIMEOUT, "no reply in time"};
        return fail(what, &t);
    }
    if (w->failed) {
        /* A session that ended (e.g. closed by a controller) explains itself better. */
        if (w->error.code == SM_CLIENT_ERR_CLOSED && c->closed)
            return fail(what, &c->close_error);
        return fail(what, &w->error);
    }
    return SM_EXIT_OK;
}

/* qsort that accepts an empty (NULL) array. */
static void sort_any(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

static int sort_props_cmp(const void *a, const void *b)
{
    const sm_property *pa = a, *pb = b;
    return sm_cli_key_cmp(&pa->key, &pb->key);
}

static int cmd_get(cli *c)
{
    if (c->positional_count < 1)
        return usage_error("get needs a session ID");
    const char *id = c->positional[0];
    int rc = cli_connect_once(c);
    if (rc)
        return rc;
    reply_wait w;
    memset(&w, 0, sizeof w);
    sm_get_params p = {.session_id = id, .keys = c->positional + 1, .key_count = c->positional_count - 1,
                       .on_reply = on_reply, .context = &w, .timeout_ms = c->timeout_ms};
    sm_client_error err;
    if (sm_get_properties(c->session, &p, &err) != SM_CLIENT_OK)
        return fail("get", &err);
    rc = wait_reply(c, &w, "get");
    if (rc == SM_EXIT_OK) {
        sort_any(w.props, w.prop_count, sizeof *w.props, sort_props_cmp);
        if (c->json) {
            fputs("{\"session\":", stdout);
            sm_cli_json_string(stdout, id);
            fputs(",\"properties\":", stdout);
            sm_cli_json_props(stdout, w.props, w.prop_count);
            fputs("}\n", stdout);
        } else {
            sm_cli_table t;
            if (sm_cli_table_init(&t, 2) == 0) {
                const char *head[2] = {"KEY", "VALUE"};
                sm_cli_table_add(&t, head);
                for (size_t i = 0; i < w.prop_count; i++) {
                    const char *row[2] = {w.props[i].key, w.props[i].value};
                    sm_cli_table_add(&t, row);
                }
                sm_cli_table_print(&t, stdout);
                sm_cli_table_free(&t);
            }
        }
    }
    free_reply(&w);
    return rc;
}

static const char *new_value_of(const cli *c, const char *key)
{
    for (size_t i = 0; i < c->prop_count; i++)
        if (strcmp(c->props[i].key, key) == 0)
            return c->props[i].value;
    return NULL;
}

static int cmd_set(cli *c)
{
    size_t first_pair = c->filter ? 0 : 1;
    if (!c->filter && c->positional_count < 1)
        return usage_error("set needs a session ID or --filter");
    for (size_t i = first_pair; i < c->positional_count; i++) {
        char *eq = strchr(c->positional[i], '=');
        if (!eq || eq == c->positional[i])
            return usage_error("expected KEY=VALUE, not '%s'", arg_safe(c->positional[i]));
        *eq = '\0';
        if (add_prop(c, c->positional[i], eq + 1) != 0)
            return usage_error("too many properties");
    }
    if (!c->prop_count)
        return usage_error("set needs at least one KEY=VALUE or --delete KEY");
    int rc = cli_connect_once(c);
    if (rc)
        return rc;
    reply_wait w;
    memset(&w, 0, sizeof w);
    sm_client_error err;
    sm_client_errcode sent;
    if (c->filter) {
        sm_set_by_filter_params p = {.filter = c->filter, .properties = c->props, .property_count = c->prop_count,
                                     .on_reply = on_reply, .context = &w, .timeout_ms = c->timeout_ms};
        sent = sm_set_properties_by_filter(c->session, &p, &err);
    } else {
        sm_set_params p = {.session_id = c->positional[0], .properties = c->props, .property_count = c->prop_count,
                           .on_reply = on_reply, .context = &w, .timeout_ms = c->timeout_ms};
        sent = sm_set_properties(c->session, &p, &err);
    }
    if (sent != SM_CLIENT_OK)
        return fail("set", &err);
    rc = wait_reply(c, &w, "set");
    if (rc != SM_EXIT_OK) {
        free_reply(&w);
        return rc;
    }
    if (c->filter) {
        print_count(c, w.count, "matched");
    } else if (c->json) {
        sort_any(w.props, w.prop_count, sizeof *w.props, sort_props_cmp);
        fputs("{\"session\":", stdout);
        sm_cli_json_string(stdout, c->positional[0]);
        fputs(",\"changed\":", stdout);
        sm_cli_json_props(stdout, w.props, w.prop_count);
        fputs("}\n", stdout);
    } else if (!w.prop_count) {
        puts("no property changed");
    } else {
        sort_any(w.props, w.prop_count, sizeof *w.props, sort_props_cmp);
        sm_cli_table t;
        if (sm_cli_table_init(&t, 3) == 0) {
            const char *head[3] = {"KEY", "OLD", "NEW"};
            sm_cli_table_add(&t, head);
            for (size_t i = 0; i < w.prop_count; i++) {
                const char *now = new_value_of(c, w.props[i].key);
                const char *row[3] = {w.props[i].key, w.props[i].value ? w.props[i].value : "(none)",
                                      now ? now : "(deleted)"};
                sm_cli_table_add(&t, row);
            }
            sm_cli_table_print(&t, stdout);
            sm_cli_table_free(&t);
        }
    }
    free_reply(&w);
    return SM_EXIT_OK;
}

static int cmd_close(cli *c)
{
    if (!c->filter && c->positional_count != 1)
        return usage_error("close needs one session ID or --filter");
    if (c->filter && c->positional_count)
        return usage_error("close takes a session ID or --filter, not both");
    int rc = cli_connect_once(c);
    if (rc)
        return rc;
    reply_wait w;
    memset(&w, 0, sizeof w);
    sm_client_error err;
    sm_client_errcode sent;
    if (c->filter) {
        sm_close_by_filter_params p = {.filter = c->filter, .on_reply = on_reply, .context = &w,
                                       .timeout_ms = c->timeout_ms};
        sent = sm_close_by_filter(c->session, &p, &err);
    } else {
        sm_close_by_id_params p = {.session_id = c->positional[0], .on_reply = on_reply, .context = &w,
                                   .timeout_ms = c->timeout_ms};
        sent = sm_close_by_id(c->session, &p, &err);
    }
    if (sent != SM_CLIENT_OK)
        return fail("close", &err);
    rc = wait_reply(c, &w, "close");
    if (rc == SM_EXIT_OK) {
        if (c->filter) {
            print_count(c, w.count, "closed");
        } else if (c->json) {
            fputs("{\"session\":", stdout);
            sm_cli_json_string(stdout, c->positional[0]);
            fputs(",\"closed\":true}\n", stdout);
        } else {
            char *id = sm_cli_escape(c->positional[0]);
            printf("closed %s\n", id ? id : "");
            free(id);
        }
    }
    free_reply(&w);
    return rc;
}

/* ---- Listener-based commands: list and watch ---- */

typedef struct row {
    char *session_id;
    sm_remote_state state;
    sm_property *props;
    size_t prop_count;
} row;

typedef struct listing {
    cli *c;
    const char *own_id;
    row *rows;
    size_t count, cap;
    bool snapshot_done;
    bool ended;
    bool failed;
    sm_client_error error;
    volatile int done;
} listing;

static const char *remote_state_name(sm_remote_state st)
{
    switch (st) {
    case SM_REMOTE_DISCONNECTED: return "DISCONNECTED";
    case SM_REMOTE_CLOSED: return "CLOSED";
    default: return "ACTIVE";
    }
}

static void free_rows(listing *ls)
{
    for (size_t i = 0; i < ls->count; i++) {
        free(ls->rows[i].session_id);
        for (size_t k = 0; k < ls->rows[i].prop_count; k++) {
            free((char *)ls->rows[i].props[k].key);
            free((char *)ls->rows[i].props[k].value);
        }
        free(ls->rows[i].props);
    }
    free(ls->rows);
}

static void list_on_open(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    listing *ls = context;
    if (ls->own_id && strcmp(ev->session_id, ls->own_id) == 0)
        return;
    if (ls->count == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 64;
        row *bigger = realloc(ls->rows, cap * sizeof *bigger);
        if (!bigger)
            return;
        ls->rows = bigger;
        ls->cap = cap;
    }
    row *r = &ls->rows[ls->count];
    r->session_id = strdup(ev->session_id);
    r->state = ev->state;
    r->prop_count = 0;
    r->props = ev->property_count ? calloc(ev->property_count, sizeof *r->props) : NULL;
    if (!r->session_id || (ev->property_count && !r->props)) {
        free(r->session_id);
        free(r->props);
        return;
    }
    for (size_t i = 0; i < ev->property_count; i++) {
        char *key = strdup(ev->properties[i].key);
        char *value = strdup(ev->properties[i].value ? ev->properties[i].value : "");
        if (!key || !value) {
            free(key);
            free(value);
            break; /* out of memory: the row keeps the properties copied so far */
        }
        r->props[i].key = key;
        r->props[i].value = value;
        r->prop_count++;
    }
    ls->count++;
}

static void list_on_snapshot_end(sm_listener *l, uint64_t count, void *context)
{
    (void)count;
    listing *ls = context;
    ls->snapshot_done = true;
    ls->done = 1;
    sm_listener_close(l);
}

static void list_on_registration_error(sm_listener *l, const sm_client_error *err, void *context)
{
    (void)l;
    listing *ls = context;
    ls->failed = true;
    ls->error = *err;
    ls->done = 1;
}

static void list_on_error(sm_listener *l, const sm_client_error *err, void *context)
{
    list_on_registration_error(l, err, context);
}

static void list_on_close(sm_listener *l, void *context)
{
    (void)l;
    listing *ls = context;
    ls->ended = true;
    ls->done = 1;
}

static int row_cmp(const void *a, const void *b)
{
    return strcmp(((const row *)a)->session_id, ((const row *)b)->session_id);
}

static const char *row_value(const row *r, const char *key)
{
    for (size_t i = 0; i < r->prop_count; i++)
        if (strcmp(r->props[i].key, key) == 0)
            return r->props[i].value;
    return NULL;
}

static bool has_selector(const cli *c)
{
    for (size_t i = 0; i < c->key_count; i++)
        if (c->keys[i][0] == '*')
            return true;
    return false;
}

/* Columns of the list table: the named keys as given, or, with a selector, every key seen. */
static const char **list_columns(const cli *c, const listing *ls, size_t *n)
{
    if (!has_selector(c)) {
        const char **cols = calloc(c->key_count ? c->key_count : 1, sizeof *cols);
        if (cols && c->key_count)
            memcpy(cols, c->keys, c->key_count * sizeof *cols);
        *n = c->key_count;
        return cols;
    }
    size_t total = 0;
    for (size_t i = 0; i < ls->count; i++)
        total += ls->rows[i].prop_count;
    const char **cols = calloc(total ? total : 1, sizeof *cols);
    if (!cols)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < ls->count; i++)
        for (size_t j = 0; j < ls->rows[i].prop_count; j++)
            cols[k++] = ls->rows[i].props[j].key;
    sort_any(cols, k, sizeof *cols, sm_cli_key_cmp);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (!u || strcmp(cols[u - 1], cols[i]) != 0)
            cols[u++] = cols[i];
    *n = u;
    return cols;
}

static void print_listing(const cli *c, listing *ls)
{
    sort_any(ls->rows, ls->count, sizeof *ls->rows, row_cmp);
    if (c->json) {
        for (size_t i = 0; i < ls->count; i++) {
            row *r = &ls->rows[i];
            sort_any(r->props, r->prop_count, sizeof *r->props, sort_props_cmp);
            fputs("{\"session\":", stdout);
            sm_cli_json_string(stdout, r->session_id);
            printf(",\"state\":\"%s\",\"properties\":", remote_state_name(r->state));
            sm_cli_json_props(stdout, r->props, r->prop_count);
            fputs("}\n", stdout);
        }
        return;
    }
    size_t ncols = 0;
    const char **cols = list_columns(c, ls, &ncols);
    sm_cli_table t;
    if (!cols || sm_cli_table_init(&t, ncols + 2) != 0) {
        free(cols);
        return;
    }
    const char **cells = calloc(ncols + 2, sizeof *cells);
    if (cells) {
        cells[0] = "SESSION";
        cells[1] = "STATE";
        for (size_t k = 0; k < ncols; k++)
            cells[k + 2] = cols[k];
        sm_cli_table_add(&t, cells);
        for (size_t i = 0; i < ls->count; i++) {
            cells[0] = ls->rows[i].session_id;
            cells[1] = remote_state_name(ls->rows[i].state);
            for (size_t k = 0; k < ncols; k++)
                cells[k + 2] = row_value(&ls->rows[i], cols[k]);
            sm_cli_table_add(&t, cells);
        }
        sm_cli_table_print(&t, stdout);
    }
    free(cells);
    free(cols);
    sm_cli_table_free(&t);
}

static int cmd_list(cli *c)
{
    if (c->positional_count)
        return usage_error("list takes no argument like '%s'", arg_safe(c->positional[0]));
    if (!c->key_count) {
        c->keys = malloc(sizeof default_list_keys);
        if (!c->keys)
            return SM_EXIT_FAILURE;
        memcpy(c->keys, default_list_keys, sizeof default_list_keys);
        c->key_count = sizeof default_list_keys / sizeof *default_list_keys;
    }
    int rc = cli_connect_once(c);
    if (rc)
        return rc;
    listing ls;
    memset(&ls, 0, sizeof ls);
    ls.c = c;
    const sm_session_info *info = sm_session_get_info(c->session);
    ls.own_id = info ? info->session_id : NULL;
    sm_listener_params lp = {
        .keys = c->keys, .key_count = c->key_count, .filter = c->filter,
        .on_session_open = list_on_open, .on_snapshot_end = list_on_snapshot_end,
        .on_registration_error = list_on_registration_error, .on_error = list_on_error,
        .on_close = list_on_close, .context = &ls,
    };
    sm_client_error err;
    if (!sm_listener_register(c->session, &lp, &err)) {
        cli_disconnect(c);
        return fail("list", &err);
    }
    sm_client_run_until(c->client, &ls.done, c->timeout_ms);
    if (ls.failed) {
        rc = fail("list", &ls.error);
    } else if (!ls.snapshot_done) {
        sm_client_error t = {SM_CLIENT_ERR_TIMEOUT, "the session list did not arrive in time"};
        rc = fail("list", c->closed ? &c->close_error : &t);
    } else {
        print_listing(c, &ls);
        /* Let the listener's removal finish before closing the session. */
        ls.done = ls.ended;
        sm_client_run_until(c->client, &ls.done, 1000);
    }
    cli_disconnect(c); /* while ls, the listener's context, still exists */
    free_rows(&ls);
    return rc;
}

/* watch: one line per event until SIGINT/SIGTERM or the session ends for good. */

static volatile sig_atomic_t stop_signal;
static int signal_pipe[2] = {-1, -1};

static void on_stop_signal(int sig)
{
    stop_signal = sig;
    int saved = errno;
    if (signal_pipe[1] >= 0) {
        ssize_t w = write(signal_pipe[1], "x", 1);
        (void)w;
    }
    errno = saved;
}

struct watch {
    cli *c;
    const char *own_id;
    uint64_t snapshot_shown; /* snapshot OPEN lines printed (our own session is left out) */
    bool failed;
    sm_client_error error;
};
typedef struct watch watch;

static void print_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    printf("%02d:%02d:%02d.%03ld ", tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void print_escaped(const char *s)
{
    char *e = sm_cli_escape(s);
    fputs(e ? e : "", stdout);
    free(e);
}

static const char *event_name(const char *kind, const sm_session_event *ev)
{
    if (!strcmp(kind, "update")) {
        switch (ev->update) {
        case SM_UPDATE_DISCONNECTED: return "DISCONNECTED";
        case SM_UPDATE_RECONNECTED: return "RECONNECTED";
        case SM_UPDATE_FAILED_OVER: return "FAILED_OVER";
        default: return "PROPERTIES";
        }
    }
    return kind;
}

static void print_event(watch *w, const char *name, const sm_session_event *ev)
{
    if (w->own_id && strcmp(ev->session_id, w->own_id) == 0)
        return;
    if (ev->snapshot)
        w->snapshot_shown++;
    if (w->c->json) {
        printf("{\"time\":%lld,\"event\":\"%s\",\"session\":", (long long)sm_wall_ms(), name);
        sm_cli_json_string(stdout, ev->session_id);
        printf(",\"state\":\"%s\"", remote_state_name(ev->state));
        if (ev->snapshot)
            fputs(",\"snapshot\":true", stdout);
        if (!strcmp(name, "CLOSED"))
            printf(",\"reason\":\"%s\"", sm_reason_name(ev->reason));
        if (strcmp(name, "FILTER_LEAVE") != 0) {
            fputs(",\"properties\":", stdout);
            sm_cli_json_props(stdout, ev->properties, ev->property_count);
        }
        if (ev->previous_count) {
            fputs(",\"changed\":", stdout);
            sm_cli_json_props(stdout, ev->previous, ev->previous_count);
        }
        fputs("}\n", stdout);
        return;
    }
    print_time();
    printf("%-12s ", ev->snapshot ? "SNAPSHOT" : name);
    print_escaped(ev->session_id);
    printf(" %s", remote_state_name(ev->state));
    if (!strcmp(name, "CLOSED"))
        printf(" reason=%s", sm_reason_name(ev->reason));
    for (size_t i = 0; i < ev->property_count; i++) {
        putchar(' ');
        print_escaped(ev->properties[i].key);
        putchar('=');
        print_escaped(ev->properties[i].value);
    }
    for (size_t i = 0; i < ev->previous_count; i++) {
        fputs(" (", stdout);
        print_escaped(ev->previous[i].key);
        fputs(" was ", stdout);
        if (ev->previous[i].value)
            print_escaped(ev->previous[i].value);
        else
            fputs("unset", stdout);
        putchar(')');
    }
    putchar('\n');
}

static void watch_open(sm_listener *l, const sm_session_event *ev, void *ctx) { (void)l; print_event(ctx, "OPEN", ev); }
static void watch_update(sm_listener *l, const sm_session_event *ev, void *ctx) { (void)l; print_event(ctx, event_name("update", ev), ev); }
static void watch_closed(sm_listener *l, const sm_session_event *ev, void *ctx) { (void)l; print_event(ctx, "CLOSED", ev); }
static void watch_enter(sm_listener *l, const sm_session_event *ev, void *ctx) { (void)l; print_event(ctx, "FILTER_ENTER", ev); }
static void watch_leave(sm_listener *l, const sm_session_event *ev, void *ctx) { (void)l; print_event(ctx, "FILTER_LEAVE", ev); }

static void watch_note(watch *w, const char *event, const char *human, const char *message, long long count)
{
    if (w->c->json) {
        printf("{\"time\":%lld,\"event\":\"%s\"", (long long)sm_wall_ms(), event);
        if (count >= 0)
            printf(",\"count\":%lld", count);
        if (message) {
            fputs(",\"message\":", stdout);
            sm_cli_json_string(stdout, message);
        }
        fputs("}\n", stdout);
        return;
    }
    print_time();
    printf("-- %s", human);
    if (count >= 0)
        printf(" %lld", count);
    if (message) {
        char *e = sm_cli_escape_message(message);
        fputs(": ", stdout);
        fputs(e ? e : "", stdout);
        free(e);
    }
    putchar('\n');
}

static void watch_registered(sm_listener *l, const sm_registration *r, void *ctx)
{
    (void)l;
    watch *w = ctx;
    /* After a reconnection our own session may be a new one. */
    const sm_session_info *info = sm_session_get_info(w->c->session);
    w->own_id = info ? info->session_id : NULL;
    w->snapshot_shown = 0;
    if (r->resync)
        watch_note(w, "RESYNC", "reconnected; the snapshot below replaces everything above", NULL, -1);
}

static void watch_snapshot_end(sm_listener *l, uint64_t count, void *ctx)
{
    (void)l;
    (void)count; /* the server's count includes our own session, which is not shown */
    watch *w = ctx;
    watch_note(w, "SNAPSHOT_END", "end of snapshot, sessions:", NULL, (long long)w->snapshot_shown);
}

static void watch_failed(sm_listener *l, const sm_client_error *err, void *ctx)
{
    (void)l;
    watch *w = ctx;
    w->failed = true;
    w->error = *err;
    w->c->done = 1;
}

static void watch_closed_listener(sm_listener *l, void *ctx)
{
    (void)l;
    watch *w = ctx;
    w->c->done = 1;
}

static void watch_disconnect(sm_session *s, const sm_client_error *cause, void *ctx)
{
    (void)s;
    cli *c = ctx;
    if (c->watch)
        watch_note(c->watch, "CONNECTION_LOST", "connection lost, reconnecting", cause->message, -1);
}

static int cmd_watch(cli *c)
{
    if (c->positional_count)
        return usage_error("watch takes no argument like '%s'", arg_safe(c->positional[0]));
    watch w;
    memset(&w, 0, sizeof w);
    w.c = c;
    c->watch = &w;
    sm_session_params sp = {0};
    sp.reconnect_give_up_ms = CLI_WATCH_GIVE_UP_MS;
    sp.on_disconnect = watch_disconnect;
    int rc = cli_connect(c, &sp);
    if (rc) {
        c->watch = NULL;
        return rc;
    }
    const sm_session_info *info = sm_session_get_info(c->session);
    w.own_id = info ? info->session_id : NULL;
    sm_listener_params lp = {
        .keys = c->keys, .key_count = c->key_count, .filter = c->filter,
        .has_after = c->has_after, .after = c->after,
        .on_registered = watch_registered, .on_registration_error = watch_failed,
        .on_session_open = watch_open, .on_session_update = watch_update,
        .on_session_close = watch_closed, .on_filter_enter = watch_enter, .on_filter_leave = watch_leave,
        .on_snapshot_end = watch_snapshot_end, .on_error = watch_failed,
        .on_close = watch_closed_listener, .context = &w,
    };
    sm_client_error err;
    if (!sm_listener_register(c->session, &lp, &err)) {
        c->watch = NULL;
        return fail("watch", &err);
    }
    if (pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        cli_disconnect(c);
        c->watch = NULL;
        return SM_EXIT_FAILURE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The library's own poll integration: one poll over its fds and our signal pipe. */
    struct pollfd *fds = NULL;
    int cap = 0;
    c->done = 0;
    while (!c->done && !stop_signal) {
        int need = sm_client_pollfds(c->client, NULL, 0) + 1;
        if (need > cap) {
            struct pollfd *bigger = realloc(fds, (size_t)need * sizeof *fds);
            if (!bigger)
                break;
            fds = bigger;
            cap = need;
        }
        fds[0].fd = signal_pipe[0];
        fds[0].events = POLLIN;
        fds[0].revents = 0;
        int n = 1 + sm_client_pollfds(c->client, fds + 1, cap - 1);
        if (poll(fds, (nfds_t)n, sm_client_timeout_ms(c->client)) < 0 && errno != EINTR)
            break;
        sm_client_service(c->client);
        if (fflush(stdout) != 0 && errno == EPIPE)
            break; /* the reader went away (e.g. `| head`) */
    }
    free(fds);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    signal_pipe[0] = signal_pipe[1] = -1;
    /* How it ended, before our own close below adds a close of its own. */
    bool session_ended = c->closed;
    sm_client_error session_error = c->close_error;
    cli_disconnect(c); /* while w, the listener's context, still exists */
    c->watch = NULL;
    fflush(stdout);
    if (stop_signal)
        return SM_EXIT_OK;
    if (w.failed)
        return fail("watch", session_ended ? &session_error : &w.error);
    if (session_ended)
        return fail("watch", &session_error);
    return SM_EXIT_OK;
}

/* ---- Entry points ---- */

bool sm_cli_is_subcommand(const char *name)
{
    static const char *const names[] = {"list", "get", "set", "watch", "close"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

int sm_cli_main(int argc, char **argv)
{
    cli c;
    memset(&c, 0, sizeof c);
    c.cmd = argv[1];
    c.url = getenv("SESSMON_URL") ? getenv("SESSMON_URL") : CLI_DEFAULT_URL;
    c.principal = getenv("SESSMON_PRINCIPAL") ? getenv("SESSMON_PRINCIPAL") : "";
    c.timeout_ms = CLI_DEFAULT_TIMEOUT_MS;
    int rc = parse_args(&c, argc - 1, argv + 1);
    if (rc == SM_EXIT_OK)
        rc = resolve_password(&c);
    if (rc == SM_EXIT_OK) {
        if (!strcmp(c.cmd, "list"))
            rc = cmd_list(&c);
        else if (!strcmp(c.cmd, "get"))
            rc = cmd_get(&c);
        else if (!strcmp(c.cmd, "set"))
            rc = cmd_set(&c);
        else if (!strcmp(c.cmd, "watch"))
            rc = cmd_watch(&c);
        else
            rc = cmd_close(&c);
    }
    if (c.client)
        cli_disconnect(&c);
    memset(c.password, 0, sizeof c.password);
    if (fflush(stdout) != 0 && rc == SM_EXIT_OK)
        rc = SM_EXIT_FAILURE;
    free(c.keys);
    free(c.props);
    return rc;
}
