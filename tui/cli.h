/* What the sessmon subcommands share: one run's state, errors and exit codes, the connection. */
#ifndef SMT_CLI_H
#define SMT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/sessmon.h"
#include "tui/options.h"
#include "tui/password.h"

/* Everything one subcommand run needs. */
typedef struct cli {
    const struct subcommand *cmd;
    smt_common_options common; /* --url, --principal, --ca-file */
    char password[SMT_PASSWORD_MAX];
    bool json;
    bool insecure;
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

    /* sessmon __complete: what list prints instead of its table, and the run's deadline (monotonic
     * ms; 0 = none) that bounds every wait, so a shell's Tab never waits on a slow server. */
    int complete; /* SMT_COMPLETE_* */
    int64_t deadline_ms;

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


enum { SMT_COMPLETE_NONE = 0, SMT_COMPLETE_IDS, SMT_COMPLETE_KEYS };
#define SMT_COMPLETE_MAX_WORDS 2000     /* a Tab never lists more */
#define SMT_COMPLETE_MAX_WORD_BYTES 256 /* longer words are left out */

/* A word a shell can take as one completion: not empty, not too long, no space or control byte. */
bool smt_cli_plain_word(const char *w);

/* How long a wait may take: want_ms, or less when the run has a deadline (at least floor_ms, so a
 * clean close still gets its moment once the deadline has passed). */
int smt_cli_wait_ms(const cli *c, int want_ms, int floor_ms);

/* Adds KEY=VALUE (value NULL: --delete KEY) to the run's property list; -1 when full. */
int smt_cli_add_prop(cli *c, const char *key, const char *value);

/* Errors: a message on stderr and the exit code for it. */
int smt_cli_fail(const char *what, const sm_client_error *e);
int smt_cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An argument made safe to print (escaped; one of four rotating buffers). */
const char *smt_cli_arg_safe(const char *arg);

/* The session: connect (and wait for it to open), once (no reconnection), disconnect cleanly. */
int smt_cli_connect(cli *c, sm_session_params *sp);
int smt_cli_connect_once(cli *c);
void smt_cli_disconnect(cli *c);
/* The result of set or close by filter. */
void smt_cli_print_count(const cli *c, uint64_t count, const char *verb);
/* qsort that accepts an empty (NULL) array. */
void smt_cli_sort_any(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
/* Orders sm_property items by key as the output lists them. */
int smt_cli_props_cmp(const void *a, const void *b);

/* The subcommands (cli_session.c: get, set, close; cli_listen.c: list, watch). */
int smt_cli_get(cli *c);
int smt_cli_set(cli *c);
int smt_cli_close(cli *c);
int smt_cli_list(cli *c);
int smt_cli_watch(cli *c);
/* The hidden subcommand of the shell completion scripts (cli_complete.c). */
int smt_cli_complete(cli *c);

#endif
