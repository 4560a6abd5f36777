/* A connection's outbound FIFO of encoded messages; listener events are batched into `events` messages. */
#include "server/outq.h"

#include <stdlib.h>

void sm_outq_init(sm_outq *q)
{
    q->head = q->tail = NULL;
    q->bytes = 0;
    q->count = 0;
}

void sm_outmsg_free(sm_outmsg *m)
{
    if (!m)
        return;
    sm_buf_free(&m->buf);
    free(m);
}

void sm_outq_clear(sm_outq *q)
{
    sm_outmsg *m = q->head;
    while (m) {
        sm_outmsg *n = m->next;
        sm_outmsg_free(m);
        m = n;
    }
    sm_outq_init(q);
}

static sm_outmsg *new_msg(size_t headroom)
{
    sm_outmsg *m = malloc(sizeof *m);
    if (!m)
        return NULL;
    m->next = NULL;
    m->batch_listener = 0;
    sm_buf_init(&m->buf, headroom, 0);
    return m;
}

static void append(sm_outq *q, sm_outmsg *m)
{
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->count++;
}

int sm_outq_push_msg(sm_outq *q, const sm_msg *msg, size_t headroom)
{
    sm_outmsg *m = new_msg(headroom);
    if (!m)
        return SM_ERR_NOMEM;
    int rc = sm_msg_encode(msg, &m->buf);
    if (rc == SM_OK && m->buf.overflow)
        rc = SM_ERR_NOMEM;
    if (rc != SM_OK) {
        sm_outmsg_free(m);
        return rc;
    }
    append(q, m);
    q->bytes += m->buf.len;
    return SM_OK;
}

/* Writes the closing part of an open batch. */
static int close_batch(sm_outq *q, sm_outmsg *m)
{
    size_t before = m->buf.len;
    int rc = sm_events_end(&m->buf);
    q->bytes += m->buf.len - before;
    m->batch_listener = 0;
    return rc == SM_OK && !m->buf.overflow ? SM_OK : SM_ERR_NOMEM;
}

/* The open batch of listener at the tail, or a new one; *first when it holds no event yet. */
static sm_outmsg *batch_for(sm_outq *q, int64_t listener, size_t headroom, bool *first)
{
    sm_outmsg *m = q->tail;
    *first = false;
    if (m && m->batch_listener && (m->batch_listener != listener || m->buf.len >= SM_BATCH_MAX_BYTES)) {
        if (close_batch(q, m) != SM_OK)
            return NULL;
    }
    if (!m || m->batch_listener != listener) {
        m = new_msg(headroom);
        if (!m)
            return NULL;
        if (sm_events_begin(&m->buf, listener) != SM_OK || m->buf.overflow) {
            sm_outmsg_free(m);
            return NULL;
        }
        m->batch_listener = listener;
        append(q, m);
        q->bytes += m->buf.len;
        *first = true;
    }
    return m;
}

int sm_outq_push_event(sm_outq *q, int64_t listener, const sm_event *ev, size_t headroom)
{
    bool first;
    sm_outmsg *m = batch_for(q, listener, headroom, &first);
    if (!m)
        return SM_ERR_NOMEM;
    size_t before = m->buf.len;
    int rc = sm_events_add(&m->buf, ev, first);
    q->bytes += m->buf.len - before;
    if (rc == SM_OK && m->buf.overflow)
        rc = SM_ERR_NOMEM;
    return rc;
}

int sm_outq_push_event_json(sm_outq *q, int64_t listener, const char *json, size_t len, size_t headroom)
{
    bool first;
    sm_outmsg *m = batch_for(q, listener, headroom, &first);
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
        return SM_ERR_NOMEM;
    }
    q->bytes += m->buf.len - before;
    return SM_OK;
}

sm_outmsg *sm_outq_pop(sm_outq *q)
{
    sm_outmsg *m = q->head;
    if (!m)
        return NULL;
    if (m->batch_listener)
        close_batch(q, m);
    q->head = m->next;
    if (!q->head)
        q->tail = NULL;
    q->count--;
    q->bytes -= m->buf.len;
    m->next = NULL;
    return m;
}
