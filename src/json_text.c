#include "json_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

json_t *json_text(const char *s) {
        if (!s)
                return json_null();
        size_t len = strlen(s);
        /* At most four bytes out for each byte in. */
        char *out = malloc(4 * len + 1);
        if (!out)
                return NULL;
        size_t o = 0;
        for (const unsigned char *p = (const unsigned char *) s; *p;) {
                size_t n = utf8_sequence_length(p);
                if (n) {
                        memcpy(out + o, p, n);
                        o += n;
                        p += n;
                } else {
                        o += (size_t) sprintf(out + o, "\\x%02x", *p);
                        p++;
                }
        }
        out[o] = 0;
        json_t *j = json_string(out);
        free(out);
        return j;
}
