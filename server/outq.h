/* A connection's outbound FIFO of encoded messages; listener events are batched into `events` messages. */
#ifndef SM_SERVER_OUTQ_H
#define SM_SERVER_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/protocol.h"

/* An `events` batch is closed and a new one started beyond this many bytes, so one write stays
 * modest. Just under 16 KiB: the buffer grows by doubling, so a batch of ordinary events fits a
 * 16 KiB allocation instead of half filling a 64 KiB one (queues count allocations, not text). */
#define SM_BATCH_MAX_BYTES (14u * 1024u)

typedef struct sm_outmsg {
    struct sm_outmsg *next;
    int64_t batch_listener; /* > 0 while this is an open `events` batch of that listener */
    size_t held;            /* heap bytes this message holds (struct + buffer, as malloc counts them) */
    sm_buf buf;             /* headroom for the transport's frame header */
} sm_outmsg;

/* bytes is what the queue really holds on the heap: the allocator's usable size of every message
 * struct and buffer (headroom, spare capacity and all), not just the text, so limits on it limit
 * memory. */
typedef struct sm_outq {
    sm_outmsg *head, *tail;
    size_t bytes;
    size_t count;
} sm_outq;

void sm_outq_init(sm_outq *q);
/* Drops everything queued. */
void sm_outq_clear(sm_outq *q);
/* Encodes m and appends it. SM_OK, SM_ERR_NOMEM, or the encoder's error. */
int sm_outq_push_msg(sm_outq *q, const sm_msg *m, size_t headroom);
/* Appends an already encoded message (cluster mode: a reply another node wrote). */
int sm_outq_push_text(sm_outq *q, const char *text, size_t len, size_t headroom);
/* Appends one event of a listener, to the open batch at the tail when it belongs to the same
 * listener and is not full, else to a new batch. */
int sm_outq_push_event(sm_outq *q, int64_t listener, const sm_event *ev, size_t headroom);
/* Like sm_outq_push_event with the event already encoded (sm_events_add with first = true): the
 * same event for several listeners is encoded once. */
int sm_outq_push_event_json(sm_outq *q, int64_t listener, const char *json, size_t len, size_t headroom);
/* Removes the head, completing an open batch; NULL when empty. The caller frees it. */
sm_outmsg *sm_outq_pop(sm_outq *q);
void sm_outmsg_free(sm_outmsg *m);

/* Heap bytes held by every queue of the process together (the server is single-threaded), and by
 * messages popped but not yet freed. */
size_t sm_outq_total_bytes(void);
/* Heap bytes freed by queues since the last call (for returning memory to the system after a burst). */
size_t sm_outq_take_released_bytes(void);

#endif
