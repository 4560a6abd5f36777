/* Opt-in frame timings for benchmarks: with SESSMON_STATS_FILE set, the monitor appends one line per painted frame. */
#include "tui/frame_stats.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t smt_frame_stats_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t smt_frame_stats_thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int smt_frame_stats_open(smt_frame_stats *s, const char *path, uint64_t start_us, sm_error *err)
{
    s->file = NULL;
    if (!path || !*path)
        return SM_OK;
    /* O_NOFOLLOW | O_NONBLOCK: the path comes from the environment; never follow a planted link
     * or hang opening a FIFO nobody reads. */
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
    if (fd < 0)
        return sm_error_set(err, SM_ERR_IO, "%s: %s", SMT_FRAME_STATS_ENV, strerror(errno));
    s->file = fdopen(fd, "a");
    if (!s->file) {
        close(fd);
        return sm_error_set(err, SM_ERR_IO, "%s: %s", SMT_FRAME_STATS_ENV, strerror(errno));
    }
    fprintf(s->file, "start %" PRIu64 "\n", start_us);
    fflush(s->file);
    return SM_OK;
}

void smt_frame_stats_frame(smt_frame_stats *s, const smt_frame_record *r)
{
    if (!s->file)
        return;
    fprintf(s->file, "frame %" PRIu64 " %" PRIu64 " %zu %zu %" PRIu64 " %s %" PRIu64 "\n", r->end_us, r->paint_us,
            r->shown, r->open, r->events, r->conn ? r->conn : "unknown", r->cpu_us);
    fflush(s->file);
}

/* Time this thread spent runnable but not running (Linux's schedstat, in ns): 0 when unknown. */
static uint64_t runq_wait_us(void)
{
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (!f)
        return 0;
    unsigned long long run_ns = 0, wait_ns = 0;
    if (fscanf(f, "%llu %llu", &run_ns, &wait_ns) != 2)
        wait_ns = 0;
    fclose(f);
    return wait_ns / 1000u;
}

void smt_frame_stats_mark(smt_frame_stats *s, const char *what, uint64_t now_us, uint64_t cpu_us)
{
    if (!s->file)
        return;
    fprintf(s->file, "mark %" PRIu64 " %s %" PRIu64 " %" PRIu64 "\n", now_us, what, cpu_us, runq_wait_us());
    fflush(s->file);
}

void smt_frame_stats_close(smt_frame_stats *s)
{
    if (s->file)
        fclose(s->file);
    s->file = NULL;
}
