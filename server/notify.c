/* sd_notify without libsystemd: one datagram of "VAR=value" lines to $NOTIFY_SOCKET (man sd_notify). */
#include "server/notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* systemd reads at most this much of one notification (NOTIFY_BUFFER_MAX is PIPE_BUF, 4096);
 * a longer state would be cut by the receiver, so it is refused here. */
#define SMD_NOTIFY_MAX 4096

/* Fills addr from $NOTIFY_SOCKET's value; the address length, or 0 when it is not one we support
 * (systemd also knows vsock: addresses, for virtual machines only). */
static socklen_t notify_address(const char *name, struct sockaddr_un *addr)
{
    size_t len = strlen(name);
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    if (len < 2 || len > sizeof addr->sun_path - 1 || (name[0] != '/' && name[0] != '@'))
        return 0;
    memcpy(addr->sun_path, name, len);
    /* An abstract name is not NUL-terminated: its length is exactly what the address says. */
    if (name[0] == '@') {
        addr->sun_path[0] = '\0';
        return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    }
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

int smd_notify(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !*name)
        return 0;
    size_t len = state ? strlen(state) : 0;
    if (len == 0 || len > SMD_NOTIFY_MAX) {
        errno = EINVAL;
        return -1;
    }
    struct sockaddr_un addr;
    socklen_t addr_len = notify_address(name, &addr);
    if (addr_len == 0) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    ssize_t sent = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&addr, addr_len);
    int saved = errno;
    close(fd);
    if (sent != (ssize_t)len) {
        errno = sent < 0 ? saved : EMSGSIZE;
        return -1;
    }
    return 1;
}
