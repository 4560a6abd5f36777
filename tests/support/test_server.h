/* Test fixture: runs the real sessmond on a free loopback port with a given config, and cleans up. */
#ifndef SM_TEST_SERVER_H
#define SM_TEST_SERVER_H

#include <sys/types.h>

typedef struct sm_test_server {
    pid_t pid;     /* 0 when not running */
    int port;
    char url[64];  /* ws://127.0.0.1:PORT */
    char dir[256]; /* temp dir holding config.json, sessmond.log, port */
    char extra[8][160]; /* extra command-line arguments (sm_test_server_start_args), kept for restarts */
    int nextra;
} sm_test_server;

/* Starts the real sessmond (SESSMOND_PATH) on a free 127.0.0.1 port with the given config JSON text
 * (NULL = built-in demo defaults; the fixture fills in bind/port itself) and waits (<= 10 s) until
 * it accepts connections. 0 or -1 (the server's log is printed to stderr on failure).
 * sessmond gets PR_SET_PDEATHSIG, so a test process that dies never leaves it running.
 * Environment: SESSMON_TEST_VERBOSE=1 runs it with --verbose; SESSMON_TEST_KEEP=1 keeps dir. */
int sm_test_server_start(sm_test_server *s, const char *config_json);
/* sm_test_server_start with sm_test_config(overrides_json): the demo configuration plus overrides
 * (NULL = the demo itself, written to the config file). 0 or -1. */
int sm_test_server_start_with(sm_test_server *s, const char *overrides_json);
/* sm_test_server_start with extra command-line arguments (NULL-terminated, at most 8, each < 160
 * bytes), e.g. {"--cluster-redis", "redis://127.0.0.1:6390", "--node", "n1", NULL}. 0 or -1. */
int sm_test_server_start_args(sm_test_server *s, const char *config_json, const char *const *args);

/* A server started on the heap with sm_test_server_start_with(overrides_json), for a cmocka group
 * setup to keep in *state: NULL when it did not start (nothing is left behind). */
sm_test_server *sm_test_server_new(const char *overrides_json);
/* The group teardown's half: sm_test_server_stop, then frees it. The stop status. */
int sm_test_server_delete(sm_test_server *s);

/* A throw-away redis-server on a free loopback port, persistence off (never the system one). */
typedef struct sm_test_redis {
    pid_t pid; /* 0 when not running */
    int port;
    char url[64]; /* redis://127.0.0.1:PORT */
} sm_test_redis;
/* Starts it and waits (<= 5 s) until it answers. 0 or -1. */
int sm_test_redis_start(sm_test_redis *r);
/* Starts it again on the same port (after stop). 0 or -1. */
int sm_test_redis_restart(sm_test_redis *r);
/* SIGKILL and reap. */
void sm_test_redis_stop(sm_test_redis *r);
/* Runs redis-cli against it with the given arguments (NULL-terminated); its output (<= outcap-1
 * bytes) in out. Exit status, or -1. */
int sm_test_redis_cli(const sm_test_redis *r, const char *const *args, char *out, size_t outcap);

/* SIGTERM, waits <= 10 s (then SIGKILL); returns the exit status (128 + signal when killed by a
 * signal, -1 when not running). Removes the temp dir (kept when SESSMON_TEST_KEEP is set; the log
 * is printed to stderr when the status is not 0). */
int sm_test_server_stop(sm_test_server *s);
/* SIGKILL now (simulates a crash); keeps dir for restart. */
void sm_test_server_kill(sm_test_server *s);
/* Starts again on the same port with the same config. 0 or -1. */
int sm_test_server_restart(sm_test_server *s);

/* Resident set size of the running server in KiB (VmRSS), -1 when unknown. */
long sm_test_server_rss_kb(const sm_test_server *s);
/* Path of the server's combined stdout/stderr log (inside dir). */
const char *sm_test_server_log(const sm_test_server *s, char *buf, size_t buflen);

/* The demo configuration (what `sessmond --print-config` prints without --config: principals
 * admin/operator/viewer/client with passwords equal to their names, anonymous allowed) deep-merged
 * with overrides_json: objects merge member by member, anything else replaces. For example
 * sm_test_config("{\"limits\":{\"heartbeatIntervalMs\":200}}"). NULL = the demo itself.
 * Returns malloc'd JSON text, or NULL (message on stderr). */
char *sm_test_config(const char *overrides_json);

/* A throw-away self-signed certificate (EC P-256, CN localhost, SAN 127.0.0.1 and localhost)
 * made with the openssl command in a fresh temp dir: no key is ever committed. */
typedef struct sm_test_cert {
    char dir[256];
    char cert[300]; /* PEM certificate */
    char key[300];  /* PEM private key */
} sm_test_cert;
/* 0, or -1 (with a message on stderr). */
int sm_test_cert_make(sm_test_cert *c);
/* Deletes the files and the dir. */
void sm_test_cert_remove(sm_test_cert *c);

/* Runs sessmond with extra arguments (NULL-terminated) and waits <= timeout_ms for it to exit;
 * returns its exit status (or -1 on timeout, after killing it) and stores up to outcap-1 bytes of
 * its combined stdout/stderr in out (may be NULL). stdin_text is fed to its stdin (may be NULL). */
int sm_test_sessmond_run(const char *const *args, const char *stdin_text, char *out, size_t outcap, int timeout_ms);
/* The same for any program (path: SESSMON_PATH, for instance); it inherits our environment. */
int sm_test_program_run(const char *path, const char *const *args, const char *stdin_text, char *out, size_t outcap,
                        int timeout_ms);

#endif
