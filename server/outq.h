/* A connection's outbound FIFO of encoded messages; listener events are batched into `events` messages. */
#ifndef SMD_SERVER_OUTQ_H
#define SMD_SERVER_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/protocol.h"

/* An `events` batch is closed and a new one started beyond this many bytes, so one write stays
 * modest. Just under 16 KiB: the buffer grows by doubling, so a batch of ordinary events fits a
 * 16 KiB allocation instead of half filling a 64 KiB one (queues count allocations, not text). */
#define SMD_BATCH_MAX_BYTES (14u * 1024u)

typedef struct smd_outmsg {
    struct smd_outmsg *next;
    int64_t batch_listener; /* > 0 while this is an open `events` batch of that listener */
    size_t held;            /* heap bytes this message holds (struct + buffer, as malloc counts them) */
    sm_buf buf;             /* headroom for the transport's frame header */
} smd_outmsg;

/* bytes is what the queue really holds on the heap: the allocator's usable size of every message
 * struct and buffer (headroom, spare capacity and all), not just the text, so limits on it limit
 * memory. */
typedef struct smd_outq {
    smd_outmsg *head, *tail;
    size_t bytes;
    size_t count;
} smd_outq;

void smd_outq_init(smd_outq *q);
/* Queues longer than this are not freed in the pass that drops them (smd_outq_reap_dropped). */
#define SMD_OUTQ_FREE_AT_ONCE 256
/* Drops everything queued: freed at once, or for a long queue handed to smd_outq_reap_dropped. */
void smd_outq_clear(smd_outq *q);
/* True while dropped messages wait to be freed. */
bool smd_outq_dropped_pending(void);
/* Frees at most max of the dropped messages (SIZE_MAX: all). */
void smd_outq_reap_dropped(size_t max);
/* Encodes m and appends it. SM_OK, SM_ERR_NOMEM, or the encoder's error. */
int smd_outq_push_msg(smd_outq *q, const sm_msg *m, size_t headroom);
/* Appends an already encoded message (cluster mode: a reply another node wrote). */
int smd_outq_push_text(smd_outq *q, const char *text, size_t len, size_t headroom);
/* Appends one event of a listener, to the open batch at the tail when it belongs to the same
 * listener and is not full, else to a new batch. */
int smd_outq_push_event(smd_outq *q, int64_t listener, const sm_event *ev, size_t headroom);
/* Like smd_outq_push_event with the event already encoded (sm_events_add with first = true): the
 * same event for several listeners is encoded once. */
int smd_outq_push_event_json(smd_outq *q, int64_t listener, const char *json, size_t len, size_t headroom);
/* Removes the head, completing an open batch; NULL when empty. The caller frees it. */
smd_outmsg *smd_outq_pop(smd_outq *q);
void smd_outmsg_free(smd_outmsg *m);

/* Heap bytes held by every queue of the process together (the server is single-threaded), and by
 * messages popped but not yet freed. */
size_t smd_outq_total_bytes(void);
/* Heap bytes freed by queues since the last call (for returning memory to the system after a burst). */
size_t smd_outq_take_released_bytes(void);

#endif
