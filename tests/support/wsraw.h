/* Minimal blocking RFC 6455 WebSocket client over TCP (or TLS), able to send broken input on purpose. */
#ifndef SM_TEST_WSRAW_H
#define SM_TEST_WSRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frame opcodes (RFC 6455 § 5.2). */
enum {
    SM_WS_OP_CONTINUATION = 0x0,
    SM_WS_OP_TEXT = 0x1,
    SM_WS_OP_BINARY = 0x2,
    SM_WS_OP_CLOSE = 0x8,
    SM_WS_OP_PING = 0x9,
    SM_WS_OP_PONG = 0xa
};

/* Results of the read functions (negative) and of everything else. */
enum {
    SM_WS_OK = 0,
    SM_WS_ERR = -1,     /* socket error or protocol violation by the server */
    SM_WS_TIMEOUT = -2, /* nothing complete arrived in time */
    SM_WS_CLOSED = -3,  /* the server sent a close frame; see close_code / close_reason */
    SM_WS_EOF = -4      /* the TCP connection ended without a close frame */
};

typedef struct sm_ws_opts {
    const char *host;        /* numeric address, default "127.0.0.1" */
    int port;
    const char *source_addr; /* bind to this local address first (e.g. "127.0.0.3"), NULL = any */
    const char *subprotocol; /* NULL = "sessmon.v1", "" = offer none */
    int rcvbuf;              /* SO_RCVBUF before connecting, 0 = kernel default */
    int timeout_ms;          /* connect + handshake, 0 = 5000 */
    bool tls;                /* wss://: TLS without certificate checks (tests make their own) */
} sm_ws_opts;

typedef struct sm_ws {
    int fd;
    void *ssl_ctx, *ssl; /* OpenSSL SSL_CTX / SSL when opts.tls, else NULL */
    unsigned char *in; /* received bytes not yet consumed */
    size_t in_len, in_cap;
    unsigned char *msg; /* message being reassembled */
    size_t msg_len, msg_cap;
    int msg_opcode;          /* opcode of the message being reassembled, -1 = none */
    size_t max_message;      /* largest message accepted (default 64 MiB) */
    bool auto_heartbeat;     /* answer "heartbeat" messages with "heartbeat_ack" (default true) */
    bool auto_pong;          /* answer pings (default true) */
    bool server_side;        /* the server end (sm_ws_accept): frames are sent unmasked */
    bool close_received;
    int close_code;          /* from the server's close frame; 1005 when it carried none */
    char close_reason[128];  /* NUL-terminated, raw bytes of the reason */
    uint64_t heartbeats_seen;
    char error[160];         /* description of the last SM_WS_ERR */
} sm_ws;

/* One received data message (text or binary). data is NUL-terminated and owned by the caller (free). */
typedef struct sm_ws_message {
    int opcode;
    char *data;
    size_t len;
} sm_ws_message;

/* Connects and performs the opening handshake. SM_WS_OK, else SM_WS_ERR with ws->error set;
 * ws is usable (for sm_ws_close) either way. */
int sm_ws_connect(sm_ws *ws, const sm_ws_opts *opts);
/* Shorthand: 127.0.0.1:port, subprotocol sessmon.v1. */
int sm_ws_connect_port(sm_ws *ws, int port);
/* The server end, for fake servers that test clients: takes the accepted socket fd (blocking),
 * reads the upgrade request and answers 101 with subprotocol sessmon.v1. SM_WS_OK or SM_WS_ERR;
 * ws owns fd either way (sm_ws_close). */
int sm_ws_accept(sm_ws *ws, int fd, int timeout_ms);

/* Sends one masked frame. */
int sm_ws_send_frame(sm_ws *ws, int opcode, bool fin, const void *data, size_t len);
/* Sends one complete text message in one frame (len = strlen). */
int sm_ws_send_text(sm_ws *ws, const char *text);
/* printf-style sm_ws_send_text. */
int sm_ws_send_textf(sm_ws *ws, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends a close frame with code and reason (code 0 = empty close frame). */
int sm_ws_send_close(sm_ws *ws, int code, const char *reason);

/* Reads the next frame of any kind (no reassembly, no automatic answers). *data is malloc'd
 * (NUL-terminated) and owned by the caller. */
int sm_ws_read_frame(sm_ws *ws, int *opcode, bool *fin, unsigned char **data, size_t *len, int timeout_ms);
/* Reads the next complete data message, answering pings (and heartbeats when auto_heartbeat).
 * SM_WS_OK with *m filled, or SM_WS_TIMEOUT / SM_WS_CLOSED / SM_WS_EOF / SM_WS_ERR. */
int sm_ws_read_message(sm_ws *ws, sm_ws_message *m, int timeout_ms);
/* Reads until the server closes (close frame or EOF) or timeout; returns SM_WS_CLOSED,
 * SM_WS_EOF, SM_WS_TIMEOUT or SM_WS_ERR. Messages on the way are discarded. */
int sm_ws_wait_closed(sm_ws *ws, int timeout_ms);

/* Ends the TCP connection without a close frame (FIN, or RST when reset is true). */
void sm_ws_abort(sm_ws *ws, bool reset);
/* Closes the socket (without a close frame) and frees everything. Safe to call twice. */
void sm_ws_close(sm_ws *ws);

/* Convenience for sessmon tests: opens a session (principal NULL = anonymous) and waits for
 * `opened`; returns the opened message text (malloc'd) or NULL. properties_json is a JSON object
 * text or NULL. */
char *sm_ws_open_session(sm_ws *ws, const char *principal, const char *password, const char *properties_json,
                         int timeout_ms);

/* Small JSON helper for tests: the string member `key` of the top-level object in json (NULL when
 * absent or of another type), malloc'd. */
char *sm_test_json_string(const char *json, const char *key);

#endif
