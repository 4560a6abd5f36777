/* Minimal blocking RFC 6455 WebSocket client over TCP (or TLS), able to send broken input on purpose. */
#include "wsraw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "core/base64.h"
#include "core/clock.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_DEFAULT_MAX_MESSAGE (64u * 1024u * 1024u)

/* ---- helpers ---- */

static int remaining_ms(int64_t deadline)
{
    int64_t r = deadline - sm_mono_ms();
    return r < 0 ? 0 : (int)r;
}

static int fail(sm_ws *ws, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(sm_ws *ws, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ws->error, sizeof ws->error, fmt, ap);
    va_end(ap);
    return SM_WS_ERR;
}

static void fill_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n <= 0) {
            for (size_t i = 0; i < len; i++)
                p[i] = (unsigned char)rand();
            return;
        }
        p += n;
        len -= (size_t)n;
    }
}

static int grow(unsigned char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 4096;
    while (ncap < need)
        ncap *= 2;
    unsigned char *n = realloc(*buf, ncap + 1);
    if (!n)
        return -1;
    *buf = n;
    *cap = ncap;
    return 0;
}

/* Reads whatever is available into ws->in, waiting at most until deadline. */
static int fill_input(sm_ws *ws, int64_t deadline)
{
    if (ws->fd < 0)
        return fail(ws, "not connected");
    /* Decrypted bytes OpenSSL already holds would not wake poll(). */
    if (!ws->ssl || SSL_pending(ws->ssl) == 0) {
        struct pollfd pfd = {.fd = ws->fd, .events = POLLIN};
        int pr;
        do {
            pr = poll(&pfd, 1, remaining_ms(deadline));
        } while (pr < 0 && errno == EINTR);
        if (pr < 0)
            return fail(ws, "poll: %s", strerror(errno));
        if (pr == 0)
            return SM_WS_TIMEOUT;
    }
    if (grow(&ws->in, &ws->in_cap, ws->in_len + 65536) != 0)
        return fail(ws, "out of memory");
    if (ws->ssl) {
        int n = SSL_read(ws->ssl, ws->in + ws->in_len, 65536);
        if (n <= 0) {
            int e = SSL_get_error(ws->ssl, n);
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return SM_WS_OK; /* a record not complete yet: nothing new */
            if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
                return SM_WS_EOF;
            return fail(ws, "TLS read failed (error %d)", e);
        }
        ws->in_len += (size_t)n;
        return SM_WS_OK;
    }
    ssize_t n;
    do {
        n = recv(ws->fd, ws->in + ws->in_len, 65536, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == ECONNRESET)
            return SM_WS_EOF;
        return fail(ws, "recv: %s", strerror(errno));
    }
    if (n == 0)
        return SM_WS_EOF;
    ws->in_len += (size_t)n;
    return SM_WS_OK;
}

static void consume_input(sm_ws *ws, size_t n)
{
    memmove(ws->in, ws->in + n, ws->in_len - n);
    ws->in_len -= n;
}

static int send_all(sm_ws *ws, const void *data, size_t len)
{
    if (ws->fd < 0)
        return fail(ws, "not connected");
    const unsigned char *p = data;
    if (ws->ssl) {
        while (len) {
            int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
            int n = SSL_write(ws->ssl, p, chunk);
            if (n <= 0)
                return fail(ws, "TLS write failed (error %d)", SSL_get_error(ws->ssl, n));
            p += n;
            len -= (size_t)n;
        }
        return SM_WS_OK;
    }
    while (len) {
        ssize_t n = send(ws->fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(ws, "send: %s", strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return SM_WS_OK;
}

/* ---- connection ---- */

static void ws_reset(sm_ws *ws)
{
    memset(ws, 0, sizeof *ws);
    ws->fd = -1;
    ws->msg_opcode = -1;
    ws->max_message = WS_DEFAULT_MAX_MESSAGE;
    ws->auto_heartbeat = true;
    ws->auto_pong = true;
}

/* TLS client handshake on the (still non-blocking) socket, without checking the certificate:
 * the tests make a throw-away one. */
static int tls_handshake(sm_ws *ws, int64_t deadline)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return fail(ws, "SSL_CTX_new failed");
    ws->ssl_ctx = ctx;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    SSL *ssl = SSL_new(ctx);
    if (!ssl || SSL_set_fd(ssl, ws->fd) != 1)
        return fail(ws, "SSL_new failed");
    ws->ssl = ssl;
    for (;;) {
        int r = SSL_connect(ssl);
        if (r == 1)
            return SM_WS_OK;
        int e = SSL_get_error(ssl, r);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            unsigned long code = ERR_get_error();
            char text[120] = "";
            if (code)
                ERR_error_string_n(code, text, sizeof text);
            return fail(ws, "TLS handshake failed (error %d) %s", e, text);
        }
        struct pollfd pfd = {.fd = ws->fd, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
        int pr;
        do {
            pr = poll(&pfd, 1, remaining_ms(deadline));
        } while (pr < 0 && errno == EINTR);
        if (pr <= 0)
            return fail(ws, "TLS handshake timed out");
    }
}

static int connect_with_timeout(sm_ws *ws, const sm_ws_opts *o, int64_t deadline)
{
    const char *host = o->host ? o->host : "127.0.0.1";
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    int family;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        family = AF_INET;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)o->port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        family = AF_INET6;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)o->port);
        sl = sizeof *s6;
    } else {
        return fail(ws, "host must be a numeric address: %s", host);
    }
    ws->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (ws->fd < 0)
        return fail(ws, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (o->rcvbuf > 0)
        setsockopt(ws->fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof o->rcvbuf);
    if (o->source_addr) {
        struct sockaddr_storage src;
        memset(&src, 0, sizeof src);
        socklen_t srcl;
        if (family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&src;
            a->sin_family = AF_INET;
            if (inet_pton(AF_INET, o->source_addr, &a->sin_addr) != 1)
                return fail(ws, "bad source address %s", o->source_addr);
            srcl = sizeof *a;
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&src;
            a->sin6_family = AF_INET6;
            if (inet_pton(AF_INET6, o->source_addr, &a->sin6_addr) != 1)
                return fail(ws, "bad source address %s", o->source_addr);
            srcl = sizeof *a;
        }
        if (bind(ws->fd, (struct sockaddr *)&src, srcl) != 0)
            return fail(ws, "bind %s: %s", o->source_addr, strerror(errno));
    }
    if (connect(ws->fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS)
        return fail(ws, "connect %s:%d: %s", host, o->port, strerror(errno));
    struct pollfd pfd = {.fd = ws->fd, .events = POLLOUT};
    int pr;
    do {
        pr = poll(&pfd, 1, remaining_ms(deadline));
    } while (pr < 0 && errno == EINTR);
    if (pr <= 0)
        return fail(ws, "connect %s:%d: timed out", host, o->port);
    int soerr = 0;
    socklen_t el = sizeof soerr;
    getsockopt(ws->fd, SOL_SOCKET, SO_ERROR, &soerr, &el);
    if (soerr)
        return fail(ws, "connect %s:%d: %s", host, o->port, strerror(soerr));
    if (o->tls && tls_handshake(ws, deadline) != SM_WS_OK)
        return SM_WS_ERR;
    /* Back to blocking writes (with a cap, so a test never hangs on a full socket). */
    int fl = fcntl(ws->fd, F_GETFL);
    fcntl(ws->fd, F_SETFL, fl & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = 10, .tv_usec = 0};
    setsockopt(ws->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return SM_WS_OK;
}

static bool header_value_equals(const char *headers, const char *name, const char *want)
{
    size_t nl = strlen(name);
    for (const char *line = strstr(headers, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *l = line + 2;
        if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t vl = end ? (size_t)(end - v) : strlen(v);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            return vl == strlen(want) && strncmp(v, want, vl) == 0;
        }
    }
    return false;
}

/* Reads an HTTP head (up to the blank line) into *head (malloc'd); bytes after it already
 * belong to the frame stream and stay in ws->in. */
static int read_http_head(sm_ws *ws, int64_t deadline, char **head)
{
    size_t head_len = 0;
    for (;;) {
        if (ws->in_len >= 4) {
            ws->in[ws->in_len] = '\0';
            char *end = strstr((char *)ws->in, "\r\n\r\n");
            if (end) {
                head_len = (size_t)(end - (char *)ws->in) + 4;
                break;
            }
        }
        if (ws->in_len > 16384)
            return fail(ws, "handshake head too long");
        int rc = fill_input(ws, deadline);
        if (rc == SM_WS_TIMEOUT)
            return fail(ws, "handshake timed out");
        if (rc == SM_WS_EOF)
            return fail(ws, "connection closed during the handshake");
        if (rc != SM_WS_OK)
            return rc;
    }
    *head = strndup((char *)ws->in, head_len);
    if (!*head)
        return fail(ws, "out of memory");
    consume_input(ws, head_len);
    return SM_WS_OK;
}

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 § 4.2.2). */
static void accept_key(const char *key, char out[40])
{
    char src[128];
    snprintf(src, sizeof src, "%s%s", key, WS_GUID);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)src, strlen(src), digest);
    sm_base64_encode(digest, sizeof digest, out);
}

int sm_ws_connect(sm_ws *ws, const sm_ws_opts *opts)
{
    ws_reset(ws);
    int64_t deadline = sm_mono_ms() + (opts->timeout_ms > 0 ? opts->timeout_ms : 5000);
    int rc = connect_with_timeout(ws, opts, deadline);
    if (rc != SM_WS_OK)
        return rc;

    unsigned char nonce[16];
    fill_random(nonce, sizeof nonce);
    char key[32];
    sm_base64_encode(nonce, sizeof nonce, key);
    const char *proto = opts->subprotocol ? opts->subprotocol : "sessmon.v1";
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET / HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
                     opts->host ? opts->host : "127.0.0.1", opts->port, key,
                     proto[0] ? "Sec-WebSocket-Protocol: " : "", proto, proto[0] ? "\r\n" : "");
    if ((rc = send_all(ws, req, (size_t)n)) != SM_WS_OK)
        return rc;

    char *head = NULL;
    if ((rc = read_http_head(ws, deadline, &head)) != SM_WS_OK)
        return rc;
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        char first[80];
        snprintf(first, sizeof first, "%.*s", (int)strcspn(head, "\r\n"), head);
        free(head);
        return fail(ws, "handshake refused: %s", first);
    }
    char accept[40];
    accept_key(key, accept);
    bool ok = header_value_equals(head, "Sec-WebSocket-Accept", accept);
    bool proto_ok = !proto[0] || header_value_equals(head, "Sec-WebSocket-Protocol", proto);
    free(head);
    if (!ok)
        return fail(ws, "bad Sec-WebSocket-Accept");
    if (!proto_ok)
        return fail(ws, "server did not agree to subprotocol %s", proto);
    return SM_WS_OK;
}

int sm_ws_accept(sm_ws *ws, int fd, int timeout_ms)
{
    ws_reset(ws);
    ws->fd = fd;
    ws->server_side = true;
    int64_t deadline = sm_mono_ms() + (timeout_ms > 0 ? timeout_ms : 5000);
    char *head = NULL;
    int rc = read_http_head(ws, deadline, &head);
    if (rc != SM_WS_OK)
        return rc;
    const char *k = NULL;
    for (char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, "Sec-WebSocket-Key:", 18) == 0) {
            k = line + 20;
            while (*k == ' ')
                k++;
            break;
        }
    char key[64] = "";
    if (k)
        snprintf(key, sizeof key, "%.*s", (int)strcspn(k, " \r\n"), k);
    free(head);
    if (!key[0])
        return fail(ws, "upgrade request without Sec-WebSocket-Key");
    char accept[40];
    accept_key(key, accept);
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: sessmon.v1\r\n\r\n",
                     accept);
    return send_all(ws, resp, (size_t)n);
}

int sm_ws_connect_port(sm_ws *ws, int port)
{
    sm_ws_opts o = {.host = "127.0.0.1", .port = port};
    return sm_ws_connect(ws, &o);
}

/* ---- sending ---- */

int sm_ws_send_frame(sm_ws *ws, int opcode, bool fin, const void *data, size_t len)
{
    unsigned char hdr[14];
    size_t h = 0;
    /* Clients must mask every frame, servers must not (RFC 6455 § 5.1). */
    unsigned char mask_bit = ws->server_side ? 0 : 0x80;
    hdr[h++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        hdr[h++] = (unsigned char)(mask_bit | len);
    } else if (len <= 0xffff) {
        hdr[h++] = mask_bit | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = mask_bit | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    unsigned char mask[4] = {0, 0, 0, 0};
    if (!ws->server_side) {
        fill_random(mask, 4);
        memcpy(hdr + h, mask, 4);
        h += 4;
    }
    unsigned char *frame = malloc(h + len);
    if (!frame)
        return fail(ws, "out of memory");
    memcpy(frame, hdr, h);
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        frame[h + i] = p[i] ^ mask[i & 3];
    int rc = send_all(ws, frame, h + len);
    free(frame);
    return rc;
}

int sm_ws_send_text(sm_ws *ws, const char *text)
{
    return sm_ws_send_frame(ws, SM_WS_OP_TEXT, true, text, strlen(text));
}

int sm_ws_send_textf(sm_ws *ws, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return fail(ws, "out of memory");
    int rc = sm_ws_send_text(ws, s);
    free(s);
    return rc;
}

int sm_ws_send_close(sm_ws *ws, int code, const char *reason)
{
    unsigned char payload[125];
    size_t len = 0;
    if (code) {
        payload[0] = (unsigned char)(code >> 8);
        payload[1] = (unsigned char)code;
        len = 2;
        if (reason) {
            size_t rl = strlen(reason);
            if (rl > sizeof payload - 2)
                rl = sizeof payload - 2;
            memcpy(payload + 2, reason, rl);
            len += rl;
        }
    }
    return sm_ws_send_frame(ws, SM_WS_OP_CLOSE, true, payload, len);
}

/* ---- receiving ---- */

/* Parses one frame from ws->in if complete: 1 = frame parsed, 0 = need more, -1 = invalid. */
static int parse_frame(sm_ws *ws, int *opcode, bool *fin, unsigned char **data, size_t *len)
{
    if (ws->in_len < 2)
        return 0;
    const unsigned char *p = ws->in;
    size_t h = 2;
    uint64_t plen = p[1] & 0x7f;
    bool masked = p[1] & 0x80;
    if (plen == 126) {
        if (ws->in_len < 4)
            return 0;
        plen = (uint64_t)p[2] << 8 | p[3];
        h = 4;
    } else if (plen == 127) {
        if (ws->in_len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | p[2 + i];
        h = 10;
    }
    if (plen > ws->max_message) {
        fail(ws, "frame of %llu bytes exceeds the limit", (unsigned long long)plen);
        return -1;
    }
    unsigned char mask[4] = {0};
    if (masked) {
        if (ws->in_len < h + 4)
            return 0;
        memcpy(mask, p + h, 4);
        h += 4;
    }
    if (ws->in_len < h + plen)
        return 0;
    unsigned char *out = malloc((size_t)plen + 1);
    if (!out) {
        fail(ws, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < plen; i++)
        out[i] = p[h + i] ^ mask[i & 3];
    out[plen] = '\0';
    *opcode = p[0] & 0x0f;
    *fin = p[0] & 0x80;
    *data = out;
    *len = (size_t)plen;
    consume_input(ws, h + (size_t)plen);
    return 1;
}

int sm_ws_read_frame(sm_ws *ws, int *opcode, bool *fin, unsigned char **data, size_t *len, int timeout_ms)
{
    int64_t deadline = sm_mono_ms() + timeout_ms;
    for (;;) {
        int r = parse_frame(ws, opcode, fin, data, len);
        if (r == 1)
            return SM_WS_OK;
        if (r < 0)
            return SM_WS_ERR;
        int rc = fill_input(ws, deadline);
        if (rc != SM_WS_OK)
            return rc;
    }
}

static char *json_type_of(const char *text, size_t len)
{
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return NULL;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "type");
    char *type = cJSON_IsString(t) ? strdup(t->valuestring) : NULL;
    cJSON_Delete(root);
    return type;
}

/* Answers a heartbeat message; returns true when text was one. */
static bool handle_heartbeat(sm_ws *ws, const char *text, size_t len)
{
    if (!memmem(text, len, "heartbeat", 9))
        return false;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        return false;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "type");
    bool is_hb = cJSON_IsString(t) && strcmp(t->valuestring, "heartbeat") == 0;
    if (is_hb) {
        const cJSON *seq = cJSON_GetObjectItemCaseSensitive(root, "seq");
        ws->heartbeats_seen++;
        sm_ws_send_textf(ws, "{\"type\":\"heartbeat_ack\",\"seq\":%lld}",
                         cJSON_IsNumber(seq) ? (long long)seq->valuedouble : 0LL);
    }
    cJSON_Delete(root);
    return is_hb;
}

int sm_ws_read_message(sm_ws *ws, sm_ws_message *m, int timeout_ms)
{
    memset(m, 0, sizeof *m);
    if (ws->close_received)
        return SM_WS_CLOSED;
    int64_t deadline = sm_mono_ms() + timeout_ms;
    for (;;) {
        int opcode;
        bool fin;
        unsigned char *data;
        size_t len;
        int rc = sm_ws_read_frame(ws, &opcode, &fin, &data, &len, remaining_ms(deadline));
        if (rc != SM_WS_OK)
            return rc;
        switch (opcode) {
        case SM_WS_OP_PING:
            if (ws->auto_pong)
                sm_ws_send_frame(ws, SM_WS_OP_PONG, true, data, len);
            free(data);
            continue;
        case SM_WS_OP_PONG:
            free(data);
            continue;
        case SM_WS_OP_CLOSE:
            ws->close_received = true;
            ws->close_code = 1005;
            ws->close_reason[0] = '\0';
            if (len >= 2) {
                ws->close_code = data[0] << 8 | data[1];
                size_t rl = len - 2 < sizeof ws->close_reason - 1 ? len - 2 : sizeof ws->close_reason - 1;
                memcpy(ws->close_reason, data + 2, rl);
                ws->close_reason[rl] = '\0';
            }
            free(data);
            /* Echo the close as RFC 6455 § 5.5.1 asks. */
            sm_ws_send_close(ws, ws->close_code == 1005 ? 0 : ws->close_code, NULL);
            return SM_WS_CLOSED;
        case SM_WS_OP_TEXT:
        case SM_WS_OP_BINARY:
            if (ws->msg_opcode >= 0) {
                free(data);
                return fail(ws, "new data frame inside a fragmented message");
            }
            ws->msg_opcode = opcode;
            ws->msg_len = 0;
            break;
        case SM_WS_OP_CONTINUATION:
            if (ws->msg_opcode < 0) {
                free(data);
                return fail(ws, "continuation frame without a message");
            }
            break;
        default:
            free(data);
            return fail(ws, "unknown opcode %d", opcode);
        }
        if (ws->msg_len + len > ws->max_message) {
            free(data);
            return fail(ws, "message exceeds %zu bytes", ws->max_message);
        }
        if (grow(&ws->msg, &ws->msg_cap, ws->msg_len + len) != 0) {
            free(data);
            return fail(ws, "out of memory");
        }
        memcpy(ws->msg + ws->msg_len, data, len);
        ws->msg_len += len;
        free(data);
        if (!fin)
            continue;
        int op = ws->msg_opcode;
        ws->msg_opcode = -1;
        if (op == SM_WS_OP_TEXT && ws->auto_heartbeat && handle_heartbeat(ws, (char *)ws->msg, ws->msg_len))
            continue;
        m->opcode = op;
        m->len = ws->msg_len;
        m->data = malloc(ws->msg_len + 1);
        if (!m->data)
            return fail(ws, "out of memory");
        memcpy(m->data, ws->msg, ws->msg_len);
        m->data[ws->msg_len] = '\0';
        return SM_WS_OK;
    }
}

int sm_ws_wait_closed(sm_ws *ws, int timeout_ms)
{
    int64_t deadline = sm_mono_ms() + timeout_ms;
    for (;;) {
        sm_ws_message m;
        int rc = sm_ws_read_message(ws, &m, remaining_ms(deadline));
        if (rc != SM_WS_OK)
            return rc;
        free(m.data);
    }
}

static void tls_free(sm_ws *ws)
{
    SSL_free(ws->ssl);
    SSL_CTX_free(ws->ssl_ctx);
    ws->ssl = ws->ssl_ctx = NULL;
}

void sm_ws_abort(sm_ws *ws, bool reset)
{
    if (ws->fd < 0)
        return;
    tls_free(ws); /* no close_notify: an abrupt end is the point */
    if (reset) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(ws->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    close(ws->fd);
    ws->fd = -1;
}

void sm_ws_close(sm_ws *ws)
{
    tls_free(ws);
    if (ws->fd >= 0)
        close(ws->fd);
    ws->fd = -1;
    free(ws->in);
    free(ws->msg);
    ws->in = ws->msg = NULL;
    ws->in_len = ws->in_cap = ws->msg_len = ws->msg_cap = 0;
}

/* ---- sessmon conveniences ---- */

char *sm_ws_open_session(sm_ws *ws, const char *principal, const char *password, const char *properties_json,
                         int timeout_ms)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "type", "open");
    cJSON_AddStringToObject(o, "principal", principal ? principal : "");
    if (password)
        cJSON_AddStringToObject(o, "password", password);
    if (properties_json) {
        cJSON *props = cJSON_Parse(properties_json);
        if (!props) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, "properties", props);
    }
    cJSON_AddStringToObject(o, "clientType", "C");
    cJSON_AddStringToObject(o, "environment", "C_test_wsraw");
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        return NULL;
    int rc = sm_ws_send_text(ws, text);
    free(text);
    if (rc != SM_WS_OK)
        return NULL;
    int64_t deadline = sm_mono_ms() + timeout_ms;
    for (;;) {
        sm_ws_message m;
        if (sm_ws_read_message(ws, &m, remaining_ms(deadline)) != SM_WS_OK)
            return NULL;
        char *t = json_type_of(m.data, m.len);
        bool opened = t && strcmp(t, "opened") == 0;
        bool refused = t && strcmp(t, "refused") == 0;
        free(t);
        if (opened)
            return m.data;
        if (refused) {
            snprintf(ws->error, sizeof ws->error, "refused: %.140s", m.data);
            free(m.data);
            return NULL;
        }
        free(m.data);
    }
}

char *sm_test_json_string(const char *json, const char *key)
{
    cJSON *root = cJSON_Parse(json);
    if (!root)
        return NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    char *s = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
    cJSON_Delete(root);
    return s;
}

