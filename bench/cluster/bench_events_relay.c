/* Micro-bench of a listener node's work per remote event: reading a proxy's `events` message and queueing each event for the client. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/events_scan.h"
#include "core/protocol.h"

/* The measured part (callgrind --toggle-collect=relay_all). */
__attribute__((noinline)) static size_t relay_all(bool tree, const sm_buf *in, long messages)
{
    sm_buf out;
    sm_buf_init(&out, 0, 0);
    sm_events_scanner scanner = {0};
    size_t relayed = 0;
    for (long m = 0; m < messages; m++) {
        sm_error err;
        sm_buf_reset(&out);
        if (tree) {
            sm_msg msg;
            if (sm_msg_decode(sm_buf_payload(&in[m]), in[m].len, 0, &msg, &err) == SM_OK)
                for (size_t i = 0; i < msg.event_count; i++)
                    relayed += sm_events_add(&out, &msg.events[i], i == 0) == SM_OK;
            sm_msg_free(&msg);
        } else if (sm_events_scan(&scanner, sm_buf_payload(&in[m]), in[m].len, &err) == SM_OK) {
            for (size_t i = 0; i < scanner.count; i++) {
                if (i)
                    sm_buf_putc(&out, ',');
                relayed += sm_buf_append(&out, scanner.events[i].json, scanner.events[i].len) == SM_OK;
            }
        }
    }
    sm_events_scanner_free(&scanner);
    sm_buf_free(&out);
    return relayed;
}

/* Run under `valgrind --tool=callgrind` for instructions per event (the figure docs/cluster.md
 * gives): `tree` is the reading through the strict decoder's cJSON tree and re-encoding each
 * event, `scan` the tree-less reader relaying the bytes as they came. The messages have the
 * latency case's shape (bench_cluster: keys ["T"], one change each), BATCH events per message. */
int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "tree") != 0 && strcmp(argv[1], "scan") != 0)) {
        fprintf(stderr, "usage: bench_events_relay tree|scan MESSAGES EVENTS_PER_MESSAGE\n");
        return 2;
    }
    bool tree = strcmp(argv[1], "tree") == 0;
    long messages = atol(argv[2]), batch = atol(argv[3]);
    if (messages < 1 || batch < 1 || batch > 1000)
        return 2;
    /* The recorded messages: distinct sessions and timestamps, as a proxy's stream has them. */
    sm_buf *in = calloc((size_t)messages, sizeof *in);
    for (long m = 0; m < messages; m++) {
        sm_buf_init(&in[m], 0, 0);
        sm_events_begin(&in[m], 3);
        for (long e = 0; e < batch; e++) {
            char sid[64], now[48], before[48];
            snprintf(sid, sizeof sid, "0000000%d-0000-0000-0000-%012lx", 5, (unsigned long)(m * batch + e));
            snprintf(now, sizeof now, "%.3f", 1765111111000.0 + (double)(m * batch + e));
            snprintf(before, sizeof before, "%.3f", 1765111110000.0 + (double)(m * batch + e));
            sm_kv props[] = {{"T", now}}, changed[] = {{"T", before}};
            sm_event ev = {.type = SM_EVENT_PROPERTIES, .session_id = sid, .state = SM_STATE_ACTIVE,
                           .properties = {props, 1}, .has_changed = true, .changed = {changed, 1}};
            sm_events_add(&in[m], &ev, e == 0);
        }
        sm_events_end(&in[m]);
    }
    size_t relayed = relay_all(tree, in, messages);
    printf("%s: %zu events relayed from %ld messages\n", argv[1], relayed, messages);
    for (long m = 0; m < messages; m++)
        sm_buf_free(&in[m]);
    free(in);
    return relayed == (size_t)(messages * batch) ? 0 : 1;
}
