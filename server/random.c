/* Cryptographic random bytes for session tokens, password salts and keys. */
#include "server/random.h"

#include <errno.h>
#include <sys/random.h>

#include "core/error.h"

int smd_random_bytes(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return SM_ERR_IO;
        }
        p += n;
        len -= (size_t)n;
    }
    return SM_OK;
}
