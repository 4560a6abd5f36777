/* Base64 (RFC 4648, standard alphabet, padded): password hash fields and WebSocket handshake keys. */
#include "core/base64.h"

#include <stdint.h>
#include <string.h>

static const char b64tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void sm_base64_encode(const unsigned char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = b64tab[(v >> 18) & 63];
        out[o++] = b64tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? b64tab[v & 63] : '=';
    }
    out[o] = '\0';
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64tab, c) : NULL;
    return p ? (int)(p - b64tab) : -1;
}

bool sm_base64_decode_exact(const char *in, size_t inlen, unsigned char *out, size_t want)
{
    if (inlen % 4 != 0 || inlen / 4 * 3 < want || inlen / 4 * 3 >= want + 3)
        return false;
    size_t o = 0;
    for (size_t i = 0; i < inlen; i += 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            char c = in[i + k];
            v[k] = c == '=' ? -2 : b64_value(c);
            if (v[k] == -1)
                return false;
        }
        if (v[0] < 0 || v[1] < 0 || (v[2] == -2 && v[3] != -2) || ((v[2] == -2 || v[3] == -2) && i + 4 != inlen))
            return false;
        uint32_t x = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)(v[2] < 0 ? 0 : v[2]) << 6 |
                     (uint32_t)(v[3] < 0 ? 0 : v[3]);
        unsigned char bytes[3] = {(unsigned char)(x >> 16), (unsigned char)(x >> 8), (unsigned char)x};
        int n = v[2] < 0 ? 1 : v[3] < 0 ? 2 : 3;
        for (int k = 0; k < n; k++) {
            if (o >= want)
                return false;
            out[o++] = bytes[k];
        }
    }
    return o == want;
}
