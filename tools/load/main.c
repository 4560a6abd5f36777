/* sessmon-load: options, open-file limit, worker processes, aggregated progress and signal handling. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "tools/load/from.h"
#include "tools/load/options.h"
#include "tools/load/stats.h"
#include "tools/load/worker.h"

#define EXIT_FATAL 1
#define EXIT_USAGE 2
#define FD_MARGIN 64          /* files a worker needs besides its sessions */
#define MAX_WORKERS 128
#define EPHEMERAL_PORTS 28000 /* Linux's default range, per source address */

static volatile sig_atomic_t stop_requests;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    if (stop_requests < 100)
        stop_requests++;
    if (wake_pipe[1] >= 0) {
        ssize_t r = write(wake_pipe[1], "x", 1);
        (void)r;
    }
    errno = saved;
}

static int make_wake_pipe(void)
{
    if (wake_pipe[0] >= 0) {
        close(wake_pipe[0]);
        close(wake_pipe[1]);
    }
    if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        wake_pipe[0] = wake_pipe[1] = -1;
        return -1;
    }
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

/* Raises the soft open-file limit to the hard one; returns the soft limit in force. */
static rlim_t raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {rl.rlim_max, rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl.rlim_cur = rl.rlim_max;
    }
    return rl.rlim_cur;
}

/* One worker process seen from the parent. */
typedef struct child {
    pid_t pid;
    int fd; /* read end of its report pipe; -1 once closed */
    sm_load_stats last;
    uint64_t printed_cpu_ms; /* last.cpu_ms at the previous progress line */
    size_t partial;
    unsigned char buf[sizeof(sm_load_stats)];
    int status;
} child;

static void read_reports(child *c)
{
    for (;;) {
        ssize_t r = read(c->fd, c->buf + c->partial, sizeof c->buf - c->partial);
        if (r > 0) {
            c->partial += (size_t)r;
            if (c->partial == sizeof c->buf) {
                memcpy(&c->last, c->buf, sizeof c->last);
                c->partial = 0;
            }
            continue;
        }
        if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
            close(c->fd);
            c->fd = -1;
        }
        if (r < 0 && errno == EINTR)
            continue;
        return;
    }
}

static long total_rss(const child *kids, unsigned n)
{
    long sum = sm_proc_rss_kb(0);
    for (unsigned i = 0; i < n; i++) {
        long kb = kids[i].pid > 0 ? sm_proc_rss_kb(kids[i].pid) : -1;
        if (kb > 0)
            sum += kb;
    }
    return sum;
}

/* The busiest worker's CPU over the last dt seconds, % of one core (-1 if unknown); moves the
 * workers' marks to now. One saturated worker holds back its share of the rates. */
static double busiest_cpu_pct(child *kids, unsigned n, double dt)
{
    double max = -1;
    for (unsigned i = 0; i < n; i++) {
        uint64_t used = kids[i].last.cpu_ms >= kids[i].printed_cpu_ms ? kids[i].last.cpu_ms - kids[i].printed_cpu_ms : 0;
        kids[i].printed_cpu_ms = kids[i].last.cpu_ms;
        double pct = dt > 0 ? (double)used / (dt * 10.0) : -1;
        if (pct > max)
            max = pct;
    }
    return max;
}

/* Runs `workers` processes and prints their summed progress until they all exit. */
static int run_parent(const sm_load_options *opt, unsigned workers, unsigned sessions, const sm_load_specs *specs)
{
    child *kids = calloc(workers, sizeof *kids);
    const sm_load_spec **spec_ptrs = specs ? calloc(specs->count ? specs->count : 1, sizeof *spec_ptrs) : NULL;
    if (!kids || (specs && !spec_ptrs)) {
        fprintf(stderr, "sessmon-load: out of memory\n");
        free(kids);
        free(spec_ptrs);
        return EXIT_FATAL;
    }
    pid_t parent = getpid();
    unsigned started = 0;
    for (unsigned w = 0; w < workers; w++) {
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) != 0) {
            fprintf(stderr, "sessmon-load: pipe: %s\n", strerror(errno));
            break;
        }
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "sessmon-load: fork: %s\n", strerror(errno));
            close(pfd[0]);
            close(pfd[1]);
            break;
        }
        if (pid == 0) {
            /* Worker: dies with the parent, and gets its own signal pipe. Its own process
             * group keeps the terminal's Ctrl-C away: the parent forwards one SIGTERM per
             * signal it gets, so one Ctrl-C is one graceful stop, not two (= cut at once). */
            setpgid(0, 0);
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(0);
            close(pfd[0]);
            for (unsigned k = 0; k < w; k++)
                if (kids[k].fd >= 0)
                    close(kids[k].fd);
            make_wake_pipe();
            sm_load_worker_params wp;
            memset(&wp, 0, sizeof wp);
            wp.opt = opt;
            wp.index = w;
            wp.count = workers;
            wp.stop = &stop_requests;
            wp.wake_fd = wake_pipe[0];
            wp.report_fd = pfd[1];
            if (specs) {
                size_t n = 0;
                for (size_t i = w; i < specs->count; i += workers)
                    spec_ptrs[n++] = &specs->items[i];
                wp.specs = spec_ptrs;
                wp.spec_count = n;
            } else {
                wp.target = sessions / workers + (w < sessions % workers ? 1 : 0);
            }
            int rc = sm_load_worker_run(&wp);
            fflush(stdout);
            fflush(stderr);
            _exit(rc);
        }
        close(pfd[1]);
        setpgid(pid, pid); /* also here: whichever runs first, no Ctrl-C reaches it */
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        kids[w].pid = pid;
        kids[w].fd = pfd[0];
        started++;
    }
    if (started < workers)
        stop_requests = stop_requests ? stop_requests : 1;

    int64_t start = sm_mono_ms(), next_print = start + 1000, last_print_at = start, kill_at = 0;
    bool forwarded = false;
    int forwarded_level = 0;
    sm_load_stats prev;
    memset(&prev, 0, sizeof prev);
    struct pollfd *fds = calloc(started + 1, sizeof *fds);
    unsigned running = started;
    while (running > 0 && fds) {
        int n = 0;
        fds[n++] = (struct pollfd){.fd = wake_pipe[0], .events = POLLIN};
        for (unsigned i = 0; i < started; i++)
            if (kids[i].fd >= 0)
                fds[n++] = (struct pollfd){.fd = kids[i].fd, .events = POLLIN};
        int64_t now = sm_mono_ms();
        int timeout = (int)(next_print - now);
        if (timeout < 0)
            timeout = 0;
        if (timeout > 200)
            timeout = 200; /* also reaps exited workers promptly */
        poll(fds, (nfds_t)n, timeout);
        char drain[64];
        while (read(wake_pipe[0], drain, sizeof drain) > 0) {
        }
        for (unsigned i = 0; i < started; i++)
            if (kids[i].fd >= 0)
                read_reports(&kids[i]);
        /* One SIGTERM to every worker per signal received (a second one cuts at once). */
        while (stop_requests > forwarded_level) {
            forwarded_level++;
            for (unsigned i = 0; i < started; i++)
                if (kids[i].pid > 0)
                    kill(kids[i].pid, SIGTERM);
            if (!forwarded) {
                int64_t grace = opt->stop_timeout_ms >= 0 ? opt->stop_timeout_ms : 5000 + (int64_t)opt->per_process;
                kill_at = sm_mono_ms() + grace + 5000;
            }
            forwarded = true;
        }
        for (unsigned i = 0; i < started; i++) {
            int st;
            if (kids[i].pid > 0 && waitpid(kids[i].pid, &st, WNOHANG) == kids[i].pid) {
                kids[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
                kids[i].pid = 0;
                if (kids[i].fd >= 0)
                    read_reports(&kids[i]);
                running--;
                if (!forwarded && kids[i].status != 0)
                    stop_requests = stop_requests ? stop_requests : 1; /* one failed: stop them all */
            }
        }
        now = sm_mono_ms();
        if (kill_at && now >= kill_at) {
            for (unsigned i = 0; i < started; i++)
                if (kids[i].pid > 0)
                    kill(kids[i].pid, SIGKILL);
            kill_at = 0;
        }
        if (now >= next_print && running > 0) {
            sm_load_stats sum;
            memset(&sum, 0, sizeof sum);
            for (unsigned i = 0; i < started; i++)
                sm_load_stats_add(&sum, &kids[i].last);
            sm_load_line line;
            memset(&line, 0, sizeof line);
            line.state = sum.stopping ? "stopping" : "running";
            line.elapsed = (double)(now - start) / 1000.0;
            line.dt = (double)(now - last_print_at) / 1000.0;
            line.workers = started;
            line.rss_kb = total_rss(kids, started);
            line.updates_asked = specs ? 0 : opt->update_rate;
            line.cpu_pct = busiest_cpu_pct(kids, started, line.dt);
            if (!opt->quiet)
                sm_load_progress_print(stdout, opt->json_progress, &line, &sum, &prev);
            prev = sum;
            last_print_at = now;
            next_print = now + 1000;
        }
    }
    int rc = started == workers ? 0 : EXIT_FATAL;
    sm_load_stats sum;
    memset(&sum, 0, sizeof sum);
    for (unsigned i = 0; i < started; i++) {
        sm_load_stats_add(&sum, &kids[i].last);
        if (kids[i].status != 0)
            rc = EXIT_FATAL;
        if (kids[i].fd >= 0)
            close(kids[i].fd);
    }
    if (!opt->quiet) {
        int64_t now = sm_mono_ms();
        sm_load_stats zero;
        memset(&zero, 0, sizeof zero);
        /* The last line gives the averages over the whole run. */
        sm_load_line line;
        memset(&line, 0, sizeof line);
        line.state = "stopped";
        line.elapsed = line.dt = (double)(now - start) / 1000.0;
        line.workers = started;
        line.rss_kb = sm_proc_rss_kb(0);
        line.updates_asked = specs ? 0 : opt->update_rate;
        for (unsigned i = 0; i < started; i++)
            kids[i].printed_cpu_ms = 0;
        line.cpu_pct = busiest_cpu_pct(kids, started, line.dt);
        sm_load_progress_print(stdout, opt->json_progress, &line, &sum, &zero);
    }
    free(fds);
    free(kids);
    free(spec_ptrs);
    return rc;
}

static int run_single(const sm_load_options *opt, unsigned sessions, const sm_load_specs *specs)
{
    sm_load_worker_params wp;
    memset(&wp, 0, sizeof wp);
    wp.opt = opt;
    wp.index = 0;
    wp.count = 1;
    wp.stop = &stop_requests;
    wp.wake_fd = wake_pipe[0];
    wp.report_fd = -1;
    const sm_load_spec **ptrs = NULL;
    if (specs) {
        ptrs = calloc(specs->count ? specs->count : 1, sizeof *ptrs);
        if (!ptrs) {
            fprintf(stderr, "sessmon-load: out of memory\n");
            return EXIT_FATAL;
        }
        for (size_t i = 0; i < specs->count; i++)
            ptrs[i] = &specs->items[i];
        wp.specs = ptrs;
        wp.spec_count = specs->count;
    } else {
        wp.target = sessions;
    }
    int rc = sm_load_worker_run(&wp);
    free(ptrs);
    return rc;
}

int main(int argc, char **argv)
{
    sm_load_options opt;
    sm_load_options_init(&opt);
    sm_error err;
    sm_error_clear(&err);
    int rc = sm_load_parse_args(&opt, argc, argv, &err);
    if (rc == 1) {
        sm_load_print_help(stdout);
        sm_load_options_free(&opt);
        return 0;
    }
    if (rc != SM_OK) {
        char msg[SM_ERROR_MESSAGE_MAX * 4 + 8];
        sm_load_escape(err.message, msg, sizeof msg);
        fprintf(stderr, "sessmon-load: %s\n", msg);
        sm_load_options_free(&opt);
        return EXIT_USAGE;
    }
    sm_load_specs specs;
    memset(&specs, 0, sizeof specs);
    if (opt.from_path && sm_load_specs_load(opt.from_path, &specs, &err) != SM_OK) {
        char msg[SM_ERROR_MESSAGE_MAX * 4 + 8], path[1024];
        sm_load_escape(err.message, msg, sizeof msg);
        sm_load_escape(opt.from_path, path, sizeof path);
        fprintf(stderr, "sessmon-load: --from %s: %s\n", path, msg);
        sm_load_options_free(&opt);
        return EXIT_USAGE;
    }
    unsigned sessions = opt.from_path ? (unsigned)specs.count : opt.sessions;

    rlim_t nofile = raise_nofile();
    unsigned per = opt.per_process;
    if (nofile < (rlim_t)per + FD_MARGIN)
        per = nofile > FD_MARGIN * 2 ? (unsigned)(nofile - FD_MARGIN) : FD_MARGIN;
    unsigned workers = sessions == 0 ? 1 : (sessions + per - 1) / per;
    if (workers > MAX_WORKERS) {
        fprintf(stderr,
                "sessmon-load: %u sessions need %u worker processes (open-file limit %llu): more than %d; raise "
                "the limit (ulimit -Hn) or --per-process\n",
                sessions, workers, (unsigned long long)nofile, MAX_WORKERS);
        sm_load_specs_free(&specs);
        sm_load_options_free(&opt);
        return EXIT_USAGE;
    }
    if (opt.source_count > 0 && sessions / opt.source_count > EPHEMERAL_PORTS)
        fprintf(stderr,
                "sessmon-load: warning: %u sessions over %zu source addresses may run out of ephemeral ports "
                "(about %d per address): add --sources\n",
                sessions, opt.source_count, EPHEMERAL_PORTS);
    if (!opt.from_path && opt.update_rate > 0 && !opt.admin) {
        bool any_privileged = opt.principal_count > 0;
        if (!any_privileged)
            fprintf(stderr, "sessmon-load: warning: --update-rate without --admin: only sessions whose principal "
                            "has modify_session can be updated (anonymous ones cannot)\n");
    }
    if (make_wake_pipe() != 0) {
        fprintf(stderr, "sessmon-load: pipe: %s\n", strerror(errno));
        sm_load_specs_free(&specs);
        sm_load_options_free(&opt);
        return EXIT_FATAL;
    }
    install_signals();
    if (!opt.quiet) {
        fprintf(stderr, "sessmon-load: %u sessions on %s from %zu source address%s, %u worker process%s (open-file "
                        "limit %llu)\n",
                sessions, opt.url, opt.source_count, opt.source_count == 1 ? "" : "es", workers,
                workers == 1 ? "" : "es", (unsigned long long)nofile);
    }
    rc = workers == 1 ? run_single(&opt, sessions, opt.from_path ? &specs : NULL)
                      : run_parent(&opt, workers, sessions, opt.from_path ? &specs : NULL);
    sm_load_specs_free(&specs);
    sm_load_options_free(&opt);
    return rc;
}
