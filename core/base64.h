/* Base64 (RFC 4648, standard alphabet, padded): password hash fields and WebSocket handshake keys. */
#ifndef SM_CORE_BASE64_H
#define SM_CORE_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Characters of the encoding of n bytes, without the NUL. */
#define SM_BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes the padded encoding of in[0..len) and a NUL to out (SM_BASE64_LEN(len) + 1 bytes). */
void sm_base64_encode(const unsigned char *in, size_t len, char *out);

/* Decodes padded base64 of exactly want bytes into out; false when malformed (bad character,
 * misplaced padding) or when it holds another number of bytes. */
bool sm_base64_decode_exact(const char *in, size_t inlen, unsigned char *out, size_t want);

#endif
