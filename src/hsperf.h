/* HotSpot's PerfData (the hsperfdata file a JVM keeps in
 * /tmp/hsperfdata_<user>/<pid>): a prologue (magic 0xcafec0c0, byte
 * order, entry offset and count) and named entries. The file belongs to
 * the target, which may write anything into it: every offset and length
 * is checked against the buffer, and a file cut short or mid-change is an
 * error for that sample. Pure: parses a buffer the caller read. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct hsperf_values {
        bool has_threads, has_heap, has_gc, has_classes;
        double threads;         /* java.threads.live */
        double heap_used;       /* bytes: the generations' spaces' used, summed */
        double gc_seconds;      /* the collectors' time, summed, over sun.os.hrt.frequency */
        double classes;         /* loaded less unloaded */
};

/* -EBADMSG: not PerfData, or an entry that points outside the buffer;
 * -EAGAIN: the JVM has not made it accessible yet. */
int hsperf_parse(const void *buf, size_t len, struct hsperf_values *ret);
