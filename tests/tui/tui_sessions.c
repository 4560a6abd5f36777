/* Test helper for the tmux tests: opens real sessions through libsessmon and keeps them open. */
/* Usage: tui_sessions --url URL --ready FILE [--principal P --password W] SPEC...
 * Each SPEC is one session: comma-separated key=value user properties ("-" for none). Writes
 * "N" to FILE once all are open (and again after reconnects); exits on SIGTERM/SIGINT. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/sessmon.h"

#define MAX_SESSIONS 256
#define MAX_PROPS 16

static volatile sig_atomic_t stop;
static int opened;
static const char *ready_file;
static int total;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void write_ready(void)
{
    if (!ready_file)
        return;
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", ready_file);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "%d\n", opened);
    fclose(f);
    rename(tmp, ready_file);
}

static void on_open(sm_session *s, const sm_session_info *info, void *ctx)
{
    (void)s;
    (void)ctx;
    (void)info;
    if (!info->resumed)
        opened++;
    if (opened >= total)
        write_ready();
}

static void on_close(sm_session *s, sm_reason reason, const sm_client_error *err, void *ctx)
{
    (void)s;
    (void)ctx;
    fprintf(stderr, "tui_sessions: session closed: %s %s\n", sm_reason_name(reason), err->message);
}

int main(int argc, char **argv)
{
    const char *url = NULL, *principal = "client", *password = "client";
    const char *specs[MAX_SESSIONS];
    int nspecs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
            url = argv[++i];
        else if (strcmp(argv[i], "--ready") == 0 && i + 1 < argc)
            ready_file = argv[++i];
        else if (strcmp(argv[i], "--principal") == 0 && i + 1 < argc)
            principal = argv[++i];
        else if (strcmp(argv[i], "--password") == 0 && i + 1 < argc)
            password = argv[++i];
        else if (nspecs < MAX_SESSIONS)
            specs[nspecs++] = argv[i];
    }
    if (!url || nspecs == 0) {
        fprintf(stderr, "usage: tui_sessions --url URL --ready FILE SPEC...\n");
        return 2;
    }
    total = nspecs;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    sm_client_error err = {0, ""};
    sm_client_params cp = {.max_sessions = MAX_SESSIONS + 8, .no_tls = true};
    sm_client *cl = sm_client_new(&cp, &err);
    if (!cl) {
        fprintf(stderr, "tui_sessions: %s\n", err.message);
        return 1;
    }
    for (int i = 0; i < nspecs; i++) {
        sm_property props[MAX_PROPS];
        size_t n = 0;
        char *copy = strdup(specs[i]);
        if (strcmp(copy, "-") != 0) {
            char *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok && n < MAX_PROPS; tok = strtok_r(NULL, ",", &save)) {
                char *eq = strchr(tok, '=');
                if (!eq)
                    continue;
                *eq = '\0';
                props[n++] = (sm_property){tok, eq + 1};
            }
        }
        sm_session_params sp = {0};
        sp.url = url;
        sp.principal = principal;
        sp.password = password;
        sp.properties = props;
        sp.property_count = n;
        sp.client_type = "JAVA";
        sp.retry_initial_connect = true;
        sp.reconnect_max_ms = 500;
        sp.on_open = on_open;
        sp.on_close = on_close;
        if (!sm_session_open(cl, &sp, &err)) {
            fprintf(stderr, "tui_sessions: %s\n", err.message);
            return 1;
        }
        free(copy);
    }
    while (!stop) {
        struct pollfd fds[MAX_SESSIONS + 16];
        int n = sm_client_pollfds(cl, fds, MAX_SESSIONS + 16);
        if (n > MAX_SESSIONS + 16)
            n = MAX_SESSIONS + 16;
        int t = sm_client_timeout_ms(cl);
        if (t < 0 || t > 200)
            t = 200;
        if (poll(fds, (nfds_t)n, t) < 0 && errno != EINTR)
            break;
        sm_client_service(cl);
    }
    sm_client_free(cl);
    return 0;
}
