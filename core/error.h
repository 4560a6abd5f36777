/* Error reporting shared by every module: a status code plus a human-readable message. */
#ifndef SM_CORE_ERROR_H
#define SM_CORE_ERROR_H

#include <stddef.h>

/* Status codes returned by core functions (0 = success, negative = failure). */
typedef enum sm_status {
    SM_OK = 0,
    SM_ERR_INVALID = -1, /* malformed or out-of-range input */
    SM_ERR_NOMEM = -2,   /* allocation failed */
    SM_ERR_LIMIT = -3,   /* a documented size or count limit was exceeded */
    SM_ERR_IO = -4,      /* operating-system or network failure */
    SM_ERR_STATE = -5,   /* call not valid in the current state */
    SM_ERR_NOT_FOUND = -6
} sm_status;

#define SM_ERROR_MESSAGE_MAX 256

/* Filled by a failing call. column is the 1-based column of a parse error, 0 when not applicable. */
typedef struct sm_error {
    int code;
    size_t column;
    char message[SM_ERROR_MESSAGE_MAX];
} sm_error;

/* Records an error (no-op when err is NULL) and returns code, so callers can `return sm_error_set(...)`. */
int sm_error_set(sm_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sm_error_clear(sm_error *err);

#endif
