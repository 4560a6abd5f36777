/* A connection's outbound FIFO of encoded messages; listener events are batched into `events` messages. */
#include "server/outq.h"

#include "server/metrics.h"

#include <malloc.h>
#include <stdlib.h>

/* Process-wide, because the global cap (limits.maxTotalQueueBytes) is about the whole heap. */
static size_t total_held, released_since_take;

size_t smd_outq_total_bytes(void)
{
    return total_held;
}

size_t smd_outq_take_released_bytes(void)
{
    size_t n = released_since_take;
    released_since_take = 0;
    return n;
}

static size_t held_by(const smd_outmsg *m)
{
    return malloc_usable_size((void *)m) + (m->buf.data ? malloc_usable_size(m->buf.data) : 0);
}

/* Brings m->held (and the queue's and the process's totals) up to date after m changed. */
static void account(smd_outq *q, smd_outmsg *m)
{
    size_t now = held_by(m);
    if (now >= m->held) {
        total_held += now - m->held;
        if (q)
            q->bytes += now - m->held;
    } else {
        total_held -= m->held - now;
        released_since_take += m->held - now;
        if (q)
            q->bytes -= m->held - now;
    }
    m->held = now;
}

void smd_outq_init(smd_outq *q)
{
    q->head = q->tail = NULL;
    q->bytes = 0;
    q->count = 0;
}

void smd_outmsg_free(smd_outmsg *m)
{
    if (!m)
        return;
    total_held -= m->held;
    released_since_take += m->held;
    sm_buf_free(&m->buf);
    free(m);
}

/* Messages of dropped queues not freed yet. A queue at its limit holds tens of thousands of
 * messages (8 MiB of small replies): freeing them all in the pass that drops it stalled every
 * other client for about 100 ms when 40 such queues went at once, so big queues are freed a slice
 * at a time (smd_outq_reap_dropped). Their memory stays counted in the total until then. */
static smd_outmsg *dropped_head, *dropped_tail;

void smd_outq_clear(smd_outq *q)
{
    smd_metrics.messages_dropped += q->count;
    if (q->count > SMD_OUTQ_FREE_AT_ONCE) {
        if (dropped_tail)
            dropped_tail->next = q->head;
        else
            dropped_head = q->head;
        dropped_tail = q->tail;
        smd_outq_init(q);
        return;
    }
    smd_outmsg *m = q->head;
    while (m) {
        smd_outmsg *n = m->next;
        smd_outmsg_free(m);
        m = n;
    }
    smd_outq_init(q);
}

bool smd_outq_dropped_pending(void)
{
    return dropped_head != NULL;
}

void smd_outq_reap_dropped(size_t max)
{
    while (dropped_head && max-- > 0) {
        smd_outmsg *m = dropped_head;
        dropped_head = m->next;
        smd_outmsg_free(m);
    }
    if (!dropped_head)
        dropped_tail = NULL;
}

static smd_outmsg *new_msg(size_t headroom)
{
    smd_outmsg *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    m->next = NULL;
    m->batch_listener = 0;
    m->held = 0;
    sm_buf_init(&m->buf, headroom, 0);
    account(NULL, m);
    return m;
}

/* A finished message gives back the spare capacity of its buffer: most are small (a pong, an
 * error) while the buffer grew in steps from 256 bytes, and a client that does not read keeps
 * them all. */
static void shrink(smd_outmsg *m)
{
    size_t need = m->buf.headroom + m->buf.len + 1;
    if (!m->buf.data || m->buf.cap < need + need / 4 + 32)
        return;
    char *n = realloc(m->buf.data, need);
    if (n) {
        m->buf.data = n;
        m->buf.cap = need;
    }
}

static void append(smd_outq *q, smd_outmsg *m)
{
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->count++;
    q->bytes += m->held;
}

int smd_outq_push_msg(smd_outq *q, const sm_msg *msg, size_t headroom)
{
    smd_outmsg *m = new_msg(headroom);
    if (!m)
        return SM_ERR_NOMEM;
    int rc = sm_msg_encode(msg, &m->buf);
    if (rc == SM_OK && m->buf.overflow)
        rc = SM_ERR_NOMEM;
    if (rc != SM_OK) {
        account(NULL, m);
        smd_outmsg_free(m);
        return rc;
    }
    shrink(m);
    account(NULL, m);
    append(q, m);
    return SM_OK;
}

int smd_outq_push_text(smd_outq *q, const char *text, size_t len, size_t headroom)
{
    smd_outmsg *m = new_msg(headroom);
    if (!m)
        return SM_ERR_NOMEM;
    int rc = sm_buf_append(&m->buf, text, len);
    if (rc == SM_OK && m->buf.overflow)
        rc = SM_ERR_NOMEM;
    if (rc != SM_OK) {
        account(NULL, m);
        smd_outmsg_free(m);
        return rc;
    }
    shrink(m);
    account(NULL, m);
    append(q, m);
    return SM_OK;
}

/* Writes the closing part of an open batch. */
static int close_batch(smd_outq *q, smd_outmsg *m)
{
    int rc = sm_events_end(&m->buf);
    m->batch_listener = 0;
    if (rc == SM_OK && !m->buf.overflow)
        shrink(m);
    account(q, m);
    return rc == SM_OK && !m->buf.overflow ? SM_OK : SM_ERR_NOMEM;
}

/* The open batch of listener at the tail, or a new one; *first when it holds no event yet. */
static smd_outmsg *batch_for(smd_outq *q, int64_t listener, size_t headroom, bool *first)
{
    smd_outmsg *m = q->tail;
    *first = false;
    if (m && m->batch_listener && (m->batch_listener != listener || m->buf.len >= SMD_BATCH_MAX_BYTES)) {
        if (close_batch(q, m) != SM_OK)
            return NULL;
    }
    if (!m || m->batch_listener != listener) {
        m = new_msg(headroom);
        if (!m)
            return NULL;
        if (sm_events_begin(&m->buf, listener) != SM_OK || m->buf.overflow) {
            account(NULL, m);
            smd_outmsg_free(m);
            return NULL;
        }
        m->batch_listener = listener;
        account(NULL, m);
        append(q, m);
        *first = true;
    }
    return m;
}

int smd_outq_push_event(smd_outq *q, int64_t listener, const sm_event *ev, size_t headroom)
{
    bool first;
    smd_outmsg *m = batch_for(q, listener, headroom, &first);
    if (!m)
        return SM_ERR_NOMEM;
    int rc = sm_events_add(&m->buf, ev, first);
    account(q, m);
    if (rc == SM_OK && m->buf.overflow)
        rc = SM_ERR_NOMEM;
    smd_metrics.events_queued += rc == SM_OK;
    return rc;
}

int smd_outq_push_event_json(smd_outq *q, int64_t listener, const char *json, size_t len, size_t headroom)
{
    bool first;
    smd_outmsg *m = batch_for(q, listener, headroom, &first);
    if (!m)
        return SM_ERR_NOMEM;
    size_t before = m->buf.len;
    int rc = first ? SM_OK : sm_buf_putc(&m->buf, ',');
    if (rc == SM_OK)
        rc = sm_buf_append(&m->buf, json, len);
    if (rc != SM_OK || m->buf.overflow) {
        m->buf.len = before; /* never half an event */
        m->buf.overflow = false;
        if (m->buf.data)
            m->buf.data[m->buf.headroom + before] = '\0';
        account(q, m);
        return SM_ERR_NOMEM;
    }
    account(q, m);
    smd_metrics.events_queued++;
    return SM_OK;
}

smd_outmsg *smd_outq_pop(smd_outq *q)
{
    smd_outmsg *m = q->head;
    if (!m)
        return NULL;
    if (m->batch_listener)
        close_batch(q, m);
    q->head = m->next;
    if (!q->head)
        q->tail = NULL;
    q->count--;
    q->bytes -= m->held;
    m->next = NULL;
    return m;
}
