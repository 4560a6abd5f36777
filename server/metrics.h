/* sessmond's metrics: cheap counters on the hot paths and the Prometheus text page built from them (docs/metrics.md). */
#ifndef SMD_SERVER_METRICS_H
#define SMD_SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/protocol.h"

struct smd_server;
struct smd_session;

/* Request latency buckets, upper bounds in microseconds: 0.1 ms to 10 s. */
#define SMD_LATENCY_BUCKETS 16
/* Principals named in sessmond_sessions_by_principal; the rest are summed in
 * sessmond_sessions_other_principals. */
#define SMD_METRICS_TOP_PRINCIPALS 20

typedef struct smd_histogram {
    uint64_t bucket[SMD_LATENCY_BUCKETS + 1]; /* not cumulative; the last one is +Inf only */
    uint64_t count;
    uint64_t sum_us;
} smd_histogram;

typedef enum smd_login_outcome {
    SMD_LOGIN_OUTCOME_OK,
    SMD_LOGIN_OUTCOME_FAILED,    /* wrong password, unknown principal */
    SMD_LOGIN_OUTCOME_ABANDONED, /* the client went away during its check (counted as a failure too) */
    SMD_LOGIN_OUTCOME_THROTTLED, /* refused by a back-off: address, network or principal */
    SMD_LOGIN_OUTCOME_BUSY,      /* refused: the check budget of the second was spent */
    SMD_LOGIN_OUTCOME_COUNT
} smd_login_outcome;

typedef enum smd_gate_refusal {
    SMD_REFUSED_OVER_ADDRESS, /* limits.maxPendingPerAddress */
    SMD_REFUSED_OVER_SUBNET,  /* limits.maxPendingPerSubnet */
    SMD_REFUSED_EVICTED,      /* dropped to make room (limits.maxPending) */
    SMD_REFUSED_TIMED_OUT,    /* limits.handshakeTimeoutMs */
    SMD_REFUSED_NO_FDS,       /* out of descriptors: accepted and closed at once */
    SMD_REFUSED_COUNT
} smd_gate_refusal;

/* Process-wide counters: plain increments, the server is single-threaded. Only ever grow. */
typedef struct smd_counters {
    uint64_t opened, resumed, disconnected;
    uint64_t closed[SM_CLOSE_REASON_COUNT];
    uint64_t closed_by_id, closed_by_filter; /* CLOSED_BY_CONTROLLER, by request */
    uint64_t events_queued;           /* listener events queued (to clients or to cluster proxies) */
    uint64_t messages_dropped;        /* outbound messages discarded unsent, for any cause */
    uint64_t messages_dropped_limit;  /* ... of them, with a queue over its limit */
    uint64_t logins[SMD_LOGIN_OUTCOME_COUNT];
    uint64_t refused[SMD_REFUSED_COUNT];
    uint64_t accept_pauses_no_fds;    /* accepting paused for want of descriptors */
    uint64_t admin_requests, admin_refused;
    smd_histogram latency[SM_MSG_TYPE_COUNT]; /* by request type, decode to reply queued */
} smd_counters;

extern smd_counters smd_metrics;

/* Per-server tallies the page needs as gauges (sessions by state and by principal). */
typedef struct smd_tally smd_tally;
smd_tally *smd_tally_new(void);
/* Drops its references to interned principals (before the server's intern pool goes). */
void smd_tally_free(smd_tally *t, struct smd_server *srv);

/* Microseconds of a monotonic clock (vDSO: tens of nanoseconds). */
int64_t smd_metrics_now_us(void);
/* One request of type `type` took `us` microseconds. */
void smd_metrics_observe(sm_msg_type type, int64_t us);

/* Session life: called where the state changes (open, resume, lost connection, close). */
void smd_metrics_session_opened(struct smd_server *srv, const struct smd_session *s);
void smd_metrics_session_resumed(struct smd_server *srv);
void smd_metrics_session_disconnected(struct smd_server *srv);
/* Before s leaves its state (ACTIVE or DISCONNECTED). */
void smd_metrics_session_closed(struct smd_server *srv, const struct smd_session *s, sm_close_reason reason);

/* What only the transport knows. */
typedef struct smd_metrics_transport {
    size_t pending;      /* connections accepted, not yet logged in (the gate) */
    size_t fd_limit;
    bool stopping;       /* shutting down: /healthz says 503 */
    bool out_of_fds;     /* accepting is paused for want of descriptors */
} smd_metrics_transport;

/* Appends the whole /metrics page (text format 0.0.4). SM_OK or SM_ERR_NOMEM/SM_ERR_LIMIT. */
int smd_metrics_render(const struct smd_server *srv, const smd_metrics_transport *t, sm_buf *out);
/* Appends the /healthz body; returns the HTTP status: 200 while sessions are served (cluster
 * trouble is named in the body, local service goes on), 503 once shutting down. */
int smd_metrics_health(const struct smd_server *srv, const smd_metrics_transport *t, sm_buf *out);

#endif
