#include "go_pprof.h"

#include <stdio.h>
#include <string.h>

/* A decimal count after `prefix`, alone on the line (a line cut short or
 * with trailing junk is no value: the answer is the target's text). */
static bool count_after(const char *prefix, const char *line, size_t len, double *ret) {
        size_t n = strlen(prefix);
        if (len <= n || len - n > 20 || memcmp(line, prefix, n) != 0)
                return false;
        double v = 0;
        for (size_t i = n; i < len; i++) {
                if (line[i] < '0' || line[i] > '9')
                        return false;
                v = v * 10 + (line[i] - '0');
        }
        *ret = v;
        return true;
}

bool go_pprof_goroutines(const char *line, size_t len, double *ret) {
        return count_after("goroutine profile: total ", line, len, ret);
}

bool go_pprof_heap_inuse(const char *line, size_t len, double *ret) {
        return count_after("# HeapInuse = ", line, len, ret);
}

void go_pprof_no_endpoint(size_t n_sockets, char *buf, size_t size) {
        if (n_sockets)
                snprintf(buf, size, "no pprof endpoint: none of the %zu TCP sockets it listens on serves "
                                    "/debug/pprof/ (import net/http/pprof, or give the rule go: {pprof: HOST:PORT})",
                         n_sockets);
        else
                snprintf(buf, size, "no pprof endpoint: it listens on no TCP socket (import net/http/pprof and "
                                    "serve HTTP, or give the rule go: {pprof: HOST:PORT})");
}
