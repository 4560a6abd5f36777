/* Test fixture: runs the real sessmond on a free loopback port with a given config, and cleans up. */
#include "test_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/clock.h"
#include "core/proc.h"

#ifndef SESSMOND_PATH
#error "SESSMOND_PATH must be defined by the build"
#endif

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static void path_in(const sm_test_server *s, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", s->dir, name);
}

const char *sm_test_server_log(const sm_test_server *s, char *buf, size_t buflen)
{
    path_in(s, "sessmond.log", buf, buflen);
    return buf;
}

static void dump_log(const sm_test_server *s, const char *why)
{
    char path[300];
    sm_test_server_log(s, path, sizeof path);
    fprintf(stderr, "---- sessmond log (%s): %s ----\n", why, path);
    FILE *f = fopen(path, "r");
    if (f) {
        char line[1024];
        int lines = 0;
        while (fgets(line, sizeof line, f) && lines++ < 400)
            fputs(line, stderr);
        fclose(f);
    }
    fprintf(stderr, "---- end of sessmond log ----\n");
}

static int exit_status(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return -1;
}

/* fork(2) for the fixture's processes: buffered output is flushed first (not written twice), and the
 * child dies with the test process (PR_SET_PDEATHSIG), at once when that is already gone. */
static pid_t fork_tied(void)
{
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
    }
    return pid;
}

/* Child side of fork_tied: execs sessmond with its output and input on the given descriptors. */
static void exec_program(const char *const *argv, int out_fd, int in_fd)
{
    if (in_fd >= 0)
        dup2(in_fd, 0);
    if (out_fd >= 0) {
        dup2(out_fd, 1);
        dup2(out_fd, 2);
    }
    execv(argv[0], (char *const *)argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static bool port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static int spawn(sm_test_server *s, int port)
{
    char cfg[300], portfile[300], logpath[300], portarg[16];
    path_in(s, "config.json", cfg, sizeof cfg);
    path_in(s, "port", portfile, sizeof portfile);
    sm_test_server_log(s, logpath, sizeof logpath);
    unlink(portfile);
    snprintf(portarg, sizeof portarg, "%d", port);
    bool have_cfg = access(cfg, F_OK) == 0;

    const char *argv[16];
    int n = 0;
    argv[n++] = SESSMOND_PATH;
    if (have_cfg) {
        argv[n++] = "--config";
        argv[n++] = cfg;
    }
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--port";
    argv[n++] = portarg;
    argv[n++] = "--port-file";
    argv[n++] = portfile;
    const char *verbose = getenv("SESSMON_TEST_VERBOSE");
    if (verbose && *verbose)
        argv[n++] = "--verbose";
    for (int i = 0; i < s->nextra && n < 15; i++)
        argv[n++] = s->extra[i];
    argv[n] = NULL;

    int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0) {
        fprintf(stderr, "test_server: cannot open %s: %s\n", logpath, strerror(errno));
        return -1;
    }
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = fork_tied();
    if (pid < 0) {
        close(logfd);
        if (nullfd >= 0)
            close(nullfd);
        return -1;
    }
    if (pid == 0)
        exec_program(argv, logfd, nullfd);
    close(logfd);
    if (nullfd >= 0)
        close(nullfd);
    s->pid = pid;

    long long deadline = sm_mono_ms() + 10000;
    while (sm_mono_ms() < deadline) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            s->pid = 0;
            fprintf(stderr, "test_server: sessmond exited early with status %d\n", exit_status(st));
            dump_log(s, "start failed");
            return -1;
        }
        FILE *f = fopen(portfile, "r");
        if (f) {
            int p = 0;
            bool got = fscanf(f, "%d", &p) == 1 && p > 0;
            fclose(f);
            if (got && port_accepts(p)) {
                s->port = p;
                snprintf(s->url, sizeof s->url, "ws://127.0.0.1:%d", p);
                return 0;
            }
        }
        sleep_ms(10);
    }
    fprintf(stderr, "test_server: sessmond did not start listening within 10 s\n");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    s->pid = 0;
    dump_log(s, "start timed out");
    return -1;
}

int sm_test_server_start(sm_test_server *s, const char *config_json)
{
    memset(s, 0, sizeof *s);
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/sessmond-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "test_server: mkdtemp: %s\n", strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    if (config_json) {
        char cfg[300];
        path_in(s, "config.json", cfg, sizeof cfg);
        FILE *f = fopen(cfg, "w");
        if (!f || fputs(config_json, f) < 0 || fclose(f) != 0) {
            fprintf(stderr, "test_server: cannot write %s\n", cfg);
            return -1;
        }
    }
    return spawn(s, 0);
}

int sm_test_server_start_args(sm_test_server *s, const char *config_json, const char *const *args)
{
    sm_test_server tmp;
    memset(&tmp, 0, sizeof tmp);
    for (int i = 0; args && args[i] && i < 8; i++)
        snprintf(tmp.extra[tmp.nextra++], sizeof tmp.extra[0], "%s", args[i]);
    /* sm_test_server_start clears s; the arguments are put back before it spawns. */
    memset(s, 0, sizeof *s);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(s->dir, sizeof s->dir, "%s/sessmond-test-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(s->dir)) {
        s->dir[0] = '\0';
        return -1;
    }
    memcpy(s->extra, tmp.extra, sizeof s->extra);
    s->nextra = tmp.nextra;
    if (config_json) {
        char cfg[300];
        path_in(s, "config.json", cfg, sizeof cfg);
        FILE *f = fopen(cfg, "w");
        if (!f || fputs(config_json, f) < 0 || fclose(f) != 0) {
            if (f)
                fclose(f);
            return -1;
        }
    }
    return spawn(s, 0);
}

/* ---- redis-server for cluster tests ---- */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &sl) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int redis_spawn(sm_test_redis *r)
{
    char port[16];
    snprintf(port, sizeof port, "%d", r->port);
    const char *argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--daemonize", "no", "--loglevel", "warning", NULL};
    pid_t pid = fork_tied();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int nullfd = open("/dev/null", O_RDWR);
        if (nullfd >= 0) {
            dup2(nullfd, 0);
            dup2(nullfd, 1);
        }
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    r->pid = pid;
    snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d", r->port);
    long long deadline = sm_mono_ms() + 5000;
    while (sm_mono_ms() < deadline) {
        if (port_accepts(r->port))
            return 0;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            r->pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    sm_test_redis_stop(r);
    return -1;
}

int sm_test_redis_start(sm_test_redis *r)
{
    memset(r, 0, sizeof *r);
    for (int attempt = 0; attempt < 5; attempt++) {
        r->port = free_port();
        if (r->port > 0 && redis_spawn(r) == 0)
            return 0;
    }
    fprintf(stderr, "test_server: cannot start redis-server\n");
    return -1;
}

int sm_test_redis_restart(sm_test_redis *r)
{
    sm_test_redis_stop(r);
    return redis_spawn(r);
}

void sm_test_redis_stop(sm_test_redis *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

int sm_test_redis_cli(const sm_test_redis *r, const char *const *args, char *out, size_t outcap)
{
    char cmd[1024];
    int n = snprintf(cmd, sizeof cmd, "redis-cli -h 127.0.0.1 -p %d", r->port);
    for (int i = 0; args && args[i] && n < (int)sizeof cmd; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t)n, " '%s'", args[i]);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t used = 0;
    if (out && outcap) {
        used = fread(out, 1, outcap - 1, p);
        out[used] = '\0';
    } else {
        char sink[256];
        while (fread(sink, 1, sizeof sink, p) > 0) {
        }
    }
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int sm_test_server_start_with(sm_test_server *s, const char *overrides_json)
{
    char *cfg = sm_test_config(overrides_json);
    if (!cfg) {
        memset(s, 0, sizeof *s);
        return -1;
    }
    int rc = sm_test_server_start(s, cfg);
    free(cfg);
    return rc;
}

static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
    long long deadline = sm_mono_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            *status = exit_status(st);
            return 0;
        }
        if (r < 0)
            return -1;
        if (sm_mono_ms() >= deadline)
            return 1;
        sleep_ms(5);
    }
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int sm_test_server_stop(sm_test_server *s)
{
    int status = -1;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int r = wait_exit(s->pid, 10000, &status);
        if (r == 1) {
            fprintf(stderr, "test_server: sessmond ignored SIGTERM for 10 s; killing it\n");
            kill(s->pid, SIGKILL);
            int st;
            waitpid(s->pid, &st, 0);
            status = exit_status(st);
        }
        s->pid = 0;
        if (status != 0)
            dump_log(s, "non-zero exit");
    }
    if (s->dir[0]) {
        const char *keep = getenv("SESSMON_TEST_KEEP");
        if (keep && *keep)
            fprintf(stderr, "test_server: keeping %s\n", s->dir);
        else
            nftw(s->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        s->dir[0] = '\0';
    }
    return status;
}

void sm_test_server_kill(sm_test_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

int sm_test_server_restart(sm_test_server *s)
{
    if (s->pid > 0)
        sm_test_server_kill(s);
    return spawn(s, s->port);
}

long sm_test_server_rss_kb(const sm_test_server *s)
{
    if (s->pid <= 0)
        return -1;
    return sm_proc_rss_kb((int)s->pid);
}

int sm_test_sessmond_run(const char *const *args, const char *stdin_text, char *out, size_t outcap, int timeout_ms)
{
    return sm_test_program_run(SESSMOND_PATH, args, stdin_text, out, outcap, timeout_ms);
}

int sm_test_program_run(const char *path, const char *const *args, const char *stdin_text, char *out, size_t outcap,
                        int timeout_ms)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = path;
    for (int i = 0; args && args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int inp[2], outp[2];
    if (pipe2(inp, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(outp, O_CLOEXEC) != 0) {
        close(inp[0]);
        close(inp[1]);
        return -1;
    }
    pid_t pid = fork_tied();
    if (pid < 0)
        return -1;
    if (pid == 0)
        exec_program(argv, outp[1], inp[0]);
    close(inp[0]);
    close(outp[1]);
    if (stdin_text) {
        signal(SIGPIPE, SIG_IGN);
        ssize_t w = write(inp[1], stdin_text, strlen(stdin_text));
        (void)w;
    }
    close(inp[1]);
    size_t used = 0;
    long long deadline = sm_mono_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - sm_mono_ms();
        if (left <= 0)
            break;
        struct pollfd pfd = {.fd = outp[0], .events = POLLIN};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        char buf[4096];
        ssize_t r = read(outp[0], buf, sizeof buf);
        if (r <= 0)
            break;
        if (out && outcap > 1 && used < outcap - 1) {
            size_t take = (size_t)r < outcap - 1 - used ? (size_t)r : outcap - 1 - used;
            memcpy(out + used, buf, take);
            used += take;
        }
    }
    close(outp[0]);
    if (out && outcap)
        out[used] = '\0';
    int status;
    long long left = deadline - sm_mono_ms();
    int r = wait_exit(pid, left > 0 ? (int)left : 0, &status);
    if (r != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return status;
}

static void merge_json(cJSON *dst, const cJSON *src)
{
    for (const cJSON *it = src->child; it; it = it->next) {
        cJSON *have = cJSON_GetObjectItemCaseSensitive(dst, it->string);
        if (have && cJSON_IsObject(have) && cJSON_IsObject(it)) {
            merge_json(have, it);
            continue;
        }
        cJSON *copy = cJSON_Duplicate(it, 1);
        if (!copy)
            continue;
        if (have)
            cJSON_ReplaceItemInObjectCaseSensitive(dst, it->string, copy);
        else
            cJSON_AddItemToObject(dst, it->string, copy);
    }
}

char *sm_test_config(const char *overrides_json)
{
    static const char *const args[] = {"--print-config", NULL};
    size_t cap = 1 << 20;
    char *demo = malloc(cap);
    if (!demo)
        return NULL;
    int st = sm_test_sessmond_run(args, NULL, demo, cap, 10000);
    if (st != 0) {
        fprintf(stderr, "test_server: sessmond --print-config failed (%d): %s\n", st, demo);
        free(demo);
        return NULL;
    }
    /* Skip anything printed before the JSON (there should be nothing). */
    char *start = strchr(demo, '{');
    cJSON *root = start ? cJSON_Parse(start) : NULL;
    free(demo);
    if (!root) {
        fprintf(stderr, "test_server: cannot parse the demo configuration\n");
        return NULL;
    }
    if (overrides_json) {
        cJSON *ov = cJSON_Parse(overrides_json);
        if (!ov || !cJSON_IsObject(ov)) {
            fprintf(stderr, "test_server: overrides are not a JSON object: %s\n", overrides_json);
            cJSON_Delete(ov);
            cJSON_Delete(root);
            return NULL;
        }
        merge_json(root, ov);
        cJSON_Delete(ov);
    }
    char *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

int sm_test_cert_make(sm_test_cert *c)
{
    memset(c, 0, sizeof *c);
    const char *tmp = getenv("TMPDIR");
    snprintf(c->dir, sizeof c->dir, "%s/sessmon-cert-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(c->dir)) {
        fprintf(stderr, "sm_test_cert_make: mkdtemp: %s\n", strerror(errno));
        return -1;
    }
    snprintf(c->cert, sizeof c->cert, "%s/cert.pem", c->dir);
    snprintf(c->key, sizeof c->key, "%s/key.pem", c->dir);
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
             "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost "
             "-keyout '%s' -out '%s' >/dev/null 2>&1",
             c->key, c->cert);
    if (system(cmd) != 0) {
        fprintf(stderr, "sm_test_cert_make: openssl could not make a test certificate\n");
        sm_test_cert_remove(c);
        return -1;
    }
    return 0;
}

void sm_test_cert_remove(sm_test_cert *c)
{
    unlink(c->cert);
    unlink(c->key);
    if (c->dir[0])
        rmdir(c->dir);
}

sm_test_server *sm_test_server_new(const char *overrides_json)
{
    sm_test_server *s = calloc(1, sizeof *s);
    if (!s || sm_test_server_start_with(s, overrides_json) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

int sm_test_server_delete(sm_test_server *s)
{
    int st = sm_test_server_stop(s);
    free(s);
    return st;
}
