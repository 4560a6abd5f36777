/* A scripted fake sessmond for client tests: each loopback connection runs a test's script in a thread. */
#include "wsfake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

static void *serve(void *arg)
{
    sm_fake *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd pfd = {.fd = f->listen_fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int fd = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        /* A client that stops reading must not hang the script's writes for long. */
        struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        sm_ws ws;
        atomic_store(&f->current_fd, fd);
        if (sm_ws_accept(&ws, fd, 5000) == SM_WS_OK && !atomic_load(&f->stop))
            f->script(&ws, f->served++, f->ctx);
        atomic_store(&f->current_fd, -1);
        sm_ws_close(&ws);
    }
    return NULL;
}

int sm_fake_start(sm_fake *f, sm_fake_script script, void *ctx)
{
    memset(f, 0, sizeof *f);
    atomic_init(&f->stop, false);
    atomic_init(&f->current_fd, -1);
    f->script = script;
    f->ctx = ctx;
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (f->listen_fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (bind(f->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(f->listen_fd, 16) != 0 ||
        getsockname(f->listen_fd, (struct sockaddr *)&a, &al) != 0) {
        close(f->listen_fd);
        return -1;
    }
    f->port = ntohs(a.sin_port);
    snprintf(f->url, sizeof f->url, "ws://127.0.0.1:%d", f->port);
    if (pthread_create(&f->thread, NULL, serve, f) != 0) {
        close(f->listen_fd);
        return -1;
    }
    return 0;
}

int sm_fake_stop(sm_fake *f)
{
    atomic_store(&f->stop, true);
    int fd = atomic_load(&f->current_fd);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR); /* wakes a script blocked on the client */
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
    return f->served;
}

const char *sm_fake_expect_open(sm_ws *ws, int timeout_ms)
{
    sm_ws_message m;
    if (sm_ws_read_message(ws, &m, timeout_ms) != SM_WS_OK)
        return NULL;
    const char *type = strstr(m.data, "\"resume\"") ? "resume" : strstr(m.data, "\"open\"") ? "open" : NULL;
    free(m.data);
    return type;
}

int sm_fake_send_opened(sm_ws *ws, const char *session_id, long long heartbeat_interval_ms)
{
    return sm_ws_send_textf(ws,
                            "{\"type\":\"opened\",\"sessionId\":\"%s\",\"token\":\"00112233445566778899aabbccddeeff\","
                            "\"principal\":\"\",\"roles\":\"\",\"permissions\":[\"view_session\",\"modify_session\","
                            "\"register_handler\"],\"serverName\":\"fake\",\"resumed\":false,"
                            "\"reconnectTimeout\":60000,\"heartbeatInterval\":%lld,\"maxMessageBytes\":65536}",
                            session_id, heartbeat_interval_ms);
}

long long sm_fake_next_request(sm_ws *ws, const char *type, char *type_out, size_t cap, int timeout_ms)
{
    for (;;) {
        sm_ws_message m;
        if (sm_ws_read_message(ws, &m, timeout_ms) != SM_WS_OK)
            return -1;
        cJSON *j = cJSON_Parse(m.data);
        free(m.data);
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
        bool match = cJSON_IsString(t) && cJSON_IsNumber(id) && (!type || strcmp(t->valuestring, type) == 0);
        long long got = match ? (long long)id->valuedouble : -1;
        if (match && type_out)
            snprintf(type_out, cap, "%s", t->valuestring);
        cJSON_Delete(j);
        if (match)
            return got;
    }
}

bool sm_fake_wait_client_gone(sm_ws *ws, int timeout_ms)
{
    int rc = sm_ws_wait_closed(ws, timeout_ms);
    return rc == SM_WS_CLOSED || rc == SM_WS_EOF || rc == SM_WS_ERR;
}
