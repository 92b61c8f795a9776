/* wisp_utf8_len (wisp.h, section 4): the validator of utf8.h for callers outside the libraries. */
#include "utf8.h"

#include "wisp.h"

size_t wisp_utf8_len(const char *s, size_t n) {
    return s && n ? wisp__utf8_len((const unsigned char *)s, n) : 0;
}
