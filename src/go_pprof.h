/* What a Go program's net/http/pprof answers, read a line at a time, and
 * the one reason given when a program has no endpoint (the go.* metrics
 * and actions say it alike). Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* /debug/pprof/goroutine?debug=1 starts "goroutine profile: total N". */
bool go_pprof_goroutines(const char *line, size_t len, double *ret);
/* /debug/pprof/heap?debug=1 ends with runtime.MemStats, one a line:
 * "# HeapInuse = N". */
bool go_pprof_heap_inuse(const char *line, size_t len, double *ret);
/* "no pprof endpoint: …", for a program listening on n TCP sockets. */
void go_pprof_no_endpoint(size_t n_sockets, char *buf, size_t size);
