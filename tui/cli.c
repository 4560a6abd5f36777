/* The sessmon script subcommands: their table, usage and help, arguments, password; the entry point. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "tui/app.h"
#include "tui/cli_out.h"
#include "tui/cli.h"

#define CLI_MAX_ARGS 4096
#define SMT_COMPLETE_TIMEOUT_MS 800

/* ---- Exit codes and errors ---- */

static int exit_code_for(sm_client_errcode code)
{
    switch (code) {
    case SM_CLIENT_OK: return SMT_EXIT_OK;
    case SM_CLIENT_ERR_ACCESS_DENIED:
    case SM_CLIENT_ERR_AUTHENTICATION_FAILED: return SMT_EXIT_ACCESS_DENIED;
    case SM_CLIENT_ERR_INVALID_FILTER: return SMT_EXIT_INVALID_FILTER;
    case SM_CLIENT_ERR_NO_SUCH_SESSION: return SMT_EXIT_NO_SUCH_SESSION;
    case SM_CLIENT_ERR_INVALID_PROPERTY: return SMT_EXIT_INVALID_PROPERTY;
    case SM_CLIENT_ERR_INVALID_ARGUMENT: return SMT_EXIT_USAGE;
    case SM_CLIENT_ERR_CLUSTER_UNAVAILABLE: return SMT_EXIT_CLUSTER_UNAVAILABLE;
    case SM_CLIENT_ERR_CONNECT_FAILED:
    case SM_CLIENT_ERR_CONNECTION_LOST:
    case SM_CLIENT_ERR_TIMEOUT:
    case SM_CLIENT_ERR_CLOSED:
    case SM_CLIENT_ERR_PROTOCOL: return SMT_EXIT_CONNECTION;
    default: return SMT_EXIT_FAILURE;
    }
}

static void print_error(const char *what, const sm_client_error *e)
{
    char *msg = smt_cli_escape_message(e->message);
    fprintf(stderr, "sessmon: %s: %s: %s\n", what, sm_client_errcode_name(e->code), msg ? msg : "");
    free(msg);
}

int smt_cli_fail(const char *what, const sm_client_error *e)
{
    print_error(what, e);
    return exit_code_for(e->code);
}

/* Escaped copy of a command-line argument for an error message (a few rotating buffers). */
const char *smt_cli_arg_safe(const char *arg)
{
    static char bufs[4][256];
    static unsigned next;
    char *out = bufs[next++ % 4];
    char *e = smt_cli_escape(arg);
    snprintf(out, sizeof bufs[0], "%s", e ? e : "?");
    free(e);
    return out;
}

int smt_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int smt_cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sessmon: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(see sessmon --help)\n", stderr);
    return SMT_EXIT_USAGE;
}

/* Options a subcommand may take besides the common ones (--url, --principal, --ca-file). */
enum {
    OPTF_JSON = 1u << 0,
    OPTF_TIMEOUT = 1u << 1,
    OPTF_INSECURE = 1u << 2,
    OPTF_FILTER = 1u << 3,
    OPTF_KEYS = 1u << 4,
    OPTF_AFTER = 1u << 5,
    OPTF_DELETE = 1u << 6,
    /* For shell completion: not in the help, the password only from $SESSMON_PASSWORD (a prompt
     * would hang the shell), a short default timeout. */
    OPTF_HIDDEN = 1u << 7,
    OPTF_ALL_CONNECT = OPTF_JSON | OPTF_TIMEOUT | OPTF_INSECURE /* every subcommand connects */
};


/* The subcommands: the one place that says which exist, what they take and how they read. */
typedef struct subcommand {
    const char *name;
    int (*run)(cli *c);
    unsigned options;    /* OPTF_* */
    const char *usage;   /* one line per form, each starting "sessmon NAME" */
    const char *help;    /* what it does */
} subcommand;

static const subcommand subcommands[] = {
    {"list", smt_cli_list, OPTF_ALL_CONNECT | OPTF_FILTER | OPTF_KEYS, "sessmon list  [--filter F] [--keys K,...]\n",
     "Prints the open sessions (matching F) as a table: the ID and the keys asked for (default\n"
     "$Principal,$ClientType,$ClientIP,$StartTime; the selectors *F and *U mean all fixed, all user).\n"},
    {"get", smt_cli_get, OPTF_ALL_CONNECT, "sessmon get   ID [KEY...]\n",
     "Prints the properties of one session: all of them, or the KEYs given.\n"},
    {"set", smt_cli_set, OPTF_ALL_CONNECT | OPTF_FILTER | OPTF_DELETE,
     "sessmon set   ID KEY=VALUE... [--delete KEY]...\n"
     "sessmon set   --filter F KEY=VALUE... [--delete KEY]...\n",
     "Sets and deletes properties of one session, or of every session matching F; prints\n"
     "what changed (the previous values), or the number of sessions updated.\n"},
    {"watch", smt_cli_watch, OPTF_ALL_CONNECT | OPTF_FILTER | OPTF_KEYS | OPTF_AFTER,
     "sessmon watch [--filter F] [--keys K,...] [--after MS|now]\n",
     "Prints the sessions (matching F) and then every change to them as it happens, until\n"
     "interrupted; with --after only sessions started later (milliseconds since the epoch, or now).\n"},
    {"close", smt_cli_close, OPTF_ALL_CONNECT | OPTF_FILTER, "sessmon close ID | --filter F\n",
     "Closes one session, or every session matching F; prints how many were closed.\n"},
    {"__complete", smt_cli_complete, OPTF_TIMEOUT | OPTF_INSECURE | OPTF_HIDDEN,
     "sessmon __complete themes [PREFIX] | ids [PREFIX] | keys [ID]\n",
     "For the shell completion scripts: prints one word a line, the themes sessmon finds, or the\n"
     "session IDs or property keys (of one session, or of all) on the server; --timeout bounds\n"
     "the whole run (default 800 ms). Never asks for a password.\n"},
};

#define NSUBCOMMANDS (sizeof subcommands / sizeof *subcommands)

static const subcommand *find_subcommand(const char *name)
{
    for (size_t i = 0; name && i < NSUBCOMMANDS; i++)
        if (strcmp(name, subcommands[i].name) == 0)
            return &subcommands[i];
    return NULL;
}

static void print_common_options(FILE *f)
{
    fputs("options: --url URL (default $SESSMON_URL or " SMT_DEFAULT_URL ")\n"
          "         --principal NAME (default $SESSMON_PRINCIPAL, else anonymous)\n"
          "         --json (NDJSON output)  --timeout MS (default 10000)\n"
          "         --ca-file PEM  --insecure (accept a self-signed wss certificate)\n"
          "The password comes from $SESSMON_PASSWORD or a prompt on the terminal.\n"
          "Exit codes: 0 ok, 1 other failure, 2 usage, 3 connection, 4 access denied or\n"
          "authentication failed, 5 invalid filter, 6 no such session, 7 invalid property.\n",
          f);
}

/* Every usage line, the first after "usage: ", the others aligned under it. */
static void print_usage_lines(FILE *f, const char *usage, bool *first)
{
    for (const char *line = usage; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        fprintf(f, "%s%.*s\n", *first ? "usage: " : "       ", (int)len, line);
        *first = false;
        line += len + (end ? 1 : 0);
    }
}

static void print_help(FILE *f)
{
    bool first = true;
    for (size_t i = 0; i < NSUBCOMMANDS; i++)
        if (!(subcommands[i].options & OPTF_HIDDEN))
            print_usage_lines(f, subcommands[i].usage, &first);
    fputs("       sessmon help SUBCOMMAND\n", f);
    print_common_options(f);
}

static void print_subcommand_help(FILE *f, const subcommand *sc)
{
    bool first = true;
    print_usage_lines(f, sc->usage, &first);
    fputs(sc->help, f);
    print_common_options(f);
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

int smt_cli_add_prop(cli *c, const char *key, const char *value)
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

enum { OPT_JSON = SMT_OPT_OWN, OPT_TIMEOUT, OPT_INSECURE, OPT_FILTER, OPT_KEYS, OPT_AFTER, OPT_DELETE };

/* Which OPTF_* an option code needs, and its name for the refusal. */
static unsigned option_flag(int opt, const char **name)
{
    static const struct {
        int opt;
        unsigned flag;
        const char *name;
    } table[] = {
        {OPT_JSON, OPTF_JSON, "--json"},       {OPT_TIMEOUT, OPTF_TIMEOUT, "--timeout"},
        {OPT_INSECURE, OPTF_INSECURE, "--insecure"}, {OPT_FILTER, OPTF_FILTER, "--filter"},
        {OPT_KEYS, OPTF_KEYS, "--keys"},       {OPT_AFTER, OPTF_AFTER, "--after"},
        {OPT_DELETE, OPTF_DELETE, "--delete"},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (table[i].opt == opt) {
            *name = table[i].name;
            return table[i].flag;
        }
    return 0;
}

static int parse_args(cli *c, int argc, char **argv)
{
    static const struct option options[] = {
        SMT_COMMON_LONGOPTS,
        {"json", no_argument, NULL, OPT_JSON},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"insecure", no_argument, NULL, OPT_INSECURE},
        {"filter", required_argument, NULL, OPT_FILTER},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"after", required_argument, NULL, OPT_AFTER},
        {"delete", required_argument, NULL, OPT_DELETE},
        {NULL, 0, NULL, 0},
    };
    optind = 1;
    opterr = 0;
    int opt;
    /* argv[0] is the subcommand, so getopt starts after it. */
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        const char *why = NULL, *name = NULL;
        switch (smt_options_common(&c->common, opt, optarg, &why)) {
        case SMT_OPTION_TAKEN: continue;
        case SMT_OPTION_HELP: print_subcommand_help(stdout, c->cmd); exit(SMT_EXIT_OK);
        case SMT_OPTION_REFUSED: return smt_cli_usage_error("%s", why);
        case SMT_OPTION_NOT_COMMON: break;
        }
        unsigned flag = option_flag(opt, &name);
        if (flag && !(c->cmd->options & flag))
            return smt_cli_usage_error("%s does not take %s", c->cmd->name, name);
        switch (opt) {
        case OPT_JSON: c->json = true; break;
        case OPT_INSECURE: c->insecure = true; break;
        case OPT_TIMEOUT:
            if (parse_timeout(optarg, &c->timeout_ms) != 0)
                return smt_cli_usage_error("--timeout wants milliseconds (1..86400000), not '%s'",
                                           smt_cli_arg_safe(optarg));
            break;
        case OPT_FILTER: c->filter = optarg; break;
        case OPT_KEYS:
            if (split_keys(c, optarg) != 0)
                return smt_cli_usage_error("out of memory");
            break;
        case OPT_AFTER:
            if (parse_after(c, optarg) != 0)
                return smt_cli_usage_error("--after wants milliseconds since the epoch or 'now', not '%s'",
                                           smt_cli_arg_safe(optarg));
            break;
        case OPT_DELETE:
            if (!*optarg || smt_cli_add_prop(c, optarg, NULL) != 0)
                return smt_cli_usage_error("bad --delete '%s'", smt_cli_arg_safe(optarg));
            break;
        case ':':
            return smt_cli_usage_error("option '%s' needs a value", smt_cli_arg_safe(argv[optind - 1]));
        default:
            return smt_cli_usage_error("unknown option '%s'", smt_cli_arg_safe(argv[optind - 1]));
        }
    }
    c->positional = (const char **)argv + optind;
    c->positional_count = (size_t)(argc - optind);
    return SMT_EXIT_OK;
}

/* ---- Password ---- */

static int resolve_password(cli *c)
{
    if ((c->cmd->options & OPTF_HIDDEN) && c->common.principal[0] && !getenv("SESSMON_PASSWORD"))
        return smt_cli_usage_error("no SESSMON_PASSWORD for '%s' (completion never asks)",
                                   smt_cli_arg_safe(c->common.principal));
    switch (smt_password_resolve(c->common.principal, c->password, sizeof c->password)) {
    case SMT_PASSWORD_OK:
        return SMT_EXIT_OK;
    case SMT_PASSWORD_TOO_LONG:
        return smt_cli_usage_error("SESSMON_PASSWORD is too long");
    case SMT_PASSWORD_NO_TERMINAL:
        break;
    }
    return smt_cli_usage_error("no terminal to ask for the password of '%s': set SESSMON_PASSWORD",
                               smt_cli_arg_safe(c->common.principal));
}

/* ---- Deadline ---- */

int smt_cli_wait_ms(const cli *c, int want_ms, int floor_ms)
{
    if (!c->deadline_ms)
        return want_ms;
    int64_t left = c->deadline_ms - sm_mono_ms();
    if (left < floor_ms)
        left = floor_ms;
    return left < want_ms ? (int)left : want_ms;
}

/* ---- Entry points ---- */

bool smt_cli_is_subcommand(const char *name)
{
    return find_subcommand(name) || (name && strcmp(name, "help") == 0);
}

/* sessmon help [SUBCOMMAND] */
static int cli_help(int argc, char **argv)
{
    if (argc < 3) {
        print_help(stdout);
        return SMT_EXIT_OK;
    }
    const subcommand *sc = find_subcommand(argv[2]);
    if (!sc || argc > 3)
        return smt_cli_usage_error("help takes one subcommand (list, get, set, watch, close), not '%s'",
                           smt_cli_arg_safe(argv[argc > 3 && sc ? 3 : 2]));
    print_subcommand_help(stdout, sc);
    return SMT_EXIT_OK;
}

int smt_cli_main(int argc, char **argv)
{
    if (strcmp(argv[1], "help") == 0)
        return cli_help(argc, argv);
    cli c;
    memset(&c, 0, sizeof c);
    c.cmd = find_subcommand(argv[1]);
    if (!c.cmd)
        return smt_cli_usage_error("unknown subcommand '%s'", smt_cli_arg_safe(argv[1]));
    smt_options_defaults(&c.common);
    c.timeout_ms = (c.cmd->options & OPTF_HIDDEN) ? SMT_COMPLETE_TIMEOUT_MS : SMT_DEFAULT_TIMEOUT_MS;
    int rc = parse_args(&c, argc - 1, argv + 1);
    if (rc == SMT_EXIT_OK)
        rc = resolve_password(&c);
    if (rc == SMT_EXIT_OK)
        rc = c.cmd->run(&c);
    if (c.client)
        smt_cli_disconnect(&c);
    memset(c.password, 0, sizeof c.password);
    if (fflush(stdout) != 0 && rc == SMT_EXIT_OK)
        rc = SMT_EXIT_FAILURE;
    free(c.keys);
    free(c.props);
    return rc;
}

