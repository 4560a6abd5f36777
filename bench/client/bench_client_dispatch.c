/* Benchmark: PROPERTIES events decoded and delivered to listener callbacks per second on one core. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/common/bench_util.h"
#include "client/internal.h"
#include "client/sessmon.h"
#include "core/buf.h"
#include "core/protocol.h"

#define PROPS_PER_EVENT 5
/* Derived, not given: the monitor may spend 15 % of a core at 10,000 events/s, so decoding must
 * not take more than a tenth of that budget: 100,000 events/s on one core. */
#define TARGET_EVENTS_PER_S 100000.0

typedef struct counters {
    uint64_t events;
    uint64_t bytes_seen; /* touch what is delivered so nothing is optimised away */
} counters;

static void on_update(sm_listener *l, const sm_session_event *ev, void *context)
{
    (void)l;
    counters *c = context;
    c->events++;
    for (size_t i = 0; i < ev->property_count; i++)
        c->bytes_seen += (unsigned char)ev->properties[i].value[0];
    for (size_t i = 0; i < ev->previous_count; i++)
        c->bytes_seen += ev->previous[i].value ? (unsigned char)ev->previous[i].value[0] : 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One `events` message of batch PROPERTIES events, 5 changed properties each (new + previous). */
static int build_batch(sm_buf *out, size_t batch, unsigned seed)
{
    static const char *const keys[PROPS_PER_EVENT] = {"Tier", "Region", "Department", "Score", "Status"};
    char vals[PROPS_PER_EVENT][32], olds[PROPS_PER_EVENT][32], sid[32];
    sm_kv props[PROPS_PER_EVENT], changed[PROPS_PER_EVENT];
    if (sm_events_begin(out, 1) != SM_OK)
        return -1;
    for (size_t i = 0; i < batch; i++) {
        snprintf(sid, sizeof sid, "5f1c09a2-%08zx", (size_t)seed * batch + i);
        for (int k = 0; k < PROPS_PER_EVENT; k++) {
            snprintf(vals[k], sizeof vals[k], "value-%u-%zu-%d", seed, i, k);
            snprintf(olds[k], sizeof olds[k], "old-%u-%zu-%d", seed, i, k);
            props[k] = (sm_kv){keys[k], vals[k]};
            changed[k] = (sm_kv){keys[k], olds[k]};
        }
        sm_event ev = {
            .type = SM_EVENT_PROPERTIES,
            .session_id = sid,
            .state = SM_STATE_ACTIVE,
            .properties = {props, PROPS_PER_EVENT},
            .has_changed = true,
            .changed = {changed, PROPS_PER_EVENT},
        };
        if (sm_events_add(out, &ev, i == 0) != SM_OK)
            return -1;
    }
    return sm_events_end(out) == SM_OK ? 0 : -1;
}

static int run(size_t batch, double seconds)
{
    sm_client_params cp = {.no_tls = true};
    sm_client *c = sm_client_new(&cp, NULL);
    if (!c)
        return -1;
    counters cnt = {0, 0};
    sm_session_params sp = {0};
    sm_session *s = sm_client__offline_session(c, &sp);
    const char *keys[] = {"*U"};
    sm_listener_params lp = {.keys = keys, .key_count = 1, .on_session_update = on_update, .context = &cnt};
    sm_listener *l = s ? sm_listener_register(s, &lp, NULL) : NULL;
    if (!l) {
        sm_client_free(c);
        return -1;
    }
    sm_client__bind_listener(l, 1);

    enum { VARIANTS = 8 };
    sm_buf msgs[VARIANTS];
    for (unsigned v = 0; v < VARIANTS; v++) {
        sm_buf_init(&msgs[v], 0, 0);
        if (build_batch(&msgs[v], batch, v) != 0) {
            fprintf(stderr, "encoding failed\n");
            return -1;
        }
    }
    /* Warm-up, then timed loop checking the clock every few messages. */
    for (unsigned v = 0; v < VARIANTS; v++)
        sm_client__inject_message(s, sm_buf_payload(&msgs[v]), msgs[v].len);
    cnt.events = 0;
    size_t bytes = 0;
    double start = now_s(), elapsed = 0;
    unsigned i = 0;
    while (elapsed < seconds) {
        for (int k = 0; k < 16; k++, i++) {
            sm_buf *m = &msgs[i % VARIANTS];
            sm_client__inject_message(s, sm_buf_payload(m), m->len);
            bytes += m->len;
        }
        elapsed = now_s() - start;
    }
    char name[96], note[160];
    snprintf(name, sizeof name, "dispatch, %zu event%s per message", batch, batch == 1 ? "" : "s");
    snprintf(note, sizeof note, "%.1f MB/s of JSON, %" PRIu64 " events in %.2f s, check %" PRIu64,
             (double)bytes / elapsed / 1e6, cnt.events, elapsed, cnt.bytes_seen % 1000);
    sm_bench_report(name, (double)cnt.events / elapsed, "ev/s", SM_BENCH_AT_LEAST, TARGET_EVENTS_PER_S, false, note);
    for (unsigned v = 0; v < VARIANTS; v++)
        sm_buf_free(&msgs[v]);
    sm_client_free(c);
    return 0;
}

int main(int argc, char **argv)
{
    sm_bench_init("client", &argc, argv);
    printf("client dispatch: PROPERTIES events (%d properties, new and previous) through the receive path, one core\n",
           PROPS_PER_EVENT);
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (seconds <= 0)
        seconds = 2.0;
    static const size_t batches[] = {1, 10, 100, 1000};
    for (size_t i = 0; i < sizeof batches / sizeof *batches; i++)
        if (run(batches[i], seconds) != 0)
            return 1;
    return 0;
}
