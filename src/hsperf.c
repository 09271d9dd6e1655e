#include "hsperf.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define PROLOGUE_SIZE 32
#define ENTRY_HEADER_SIZE 20
#define NAME_MAX_LEN 256

struct reader {
        const unsigned char *p;
        size_t len;
        bool little;
};

static uint32_t u32_at(const struct reader *r, size_t off) {
        const unsigned char *b = r->p + off;
        return r->little ? (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24
                         : (uint32_t) b[3] | (uint32_t) b[2] << 8 | (uint32_t) b[1] << 16 | (uint32_t) b[0] << 24;
}

static int64_t i64_at(const struct reader *r, size_t off) {
        uint64_t lo = u32_at(r, off), hi = u32_at(r, off + 4);
        return (int64_t) (r->little ? hi << 32 | lo : lo << 32 | hi);
}

/* "sun.gc.generation.1.space.0.used": PREFIX, digits, MIDDLE, digits,
 * SUFFIX (MIDDLE NULL: one number). */
static bool numbered(const char *name, const char *prefix, const char *middle, const char *suffix) {
        size_t n = strlen(prefix);
        if (strncmp(name, prefix, n) != 0)
                return false;
        name += n;
        for (int part = 0; part < (middle ? 2 : 1); part++) {
                if (*name < '0' || *name > '9')
                        return false;
                while (*name >= '0' && *name <= '9')
                        name++;
                if (part == 0 && middle) {
                        n = strlen(middle);
                        if (strncmp(name, middle, n) != 0)
                                return false;
                        name += n;
                }
        }
        return strcmp(name, suffix) == 0;
}

struct counters {
        struct hsperf_values v;
        bool has_loaded, has_unloaded, has_frequency, has_collectors;
        double loaded, unloaded, frequency, gc_ticks;
};

static void take(struct counters *c, const char *name, double v) {
        if (strcmp(name, "java.threads.live") == 0) {
                c->v.threads = v;
                c->v.has_threads = true;
        } else if (numbered(name, "sun.gc.generation.", ".space.", ".used")) {
                c->v.heap_used += v;
                c->v.has_heap = true;
        } else if (numbered(name, "sun.gc.collector.", NULL, ".time")) {
                c->gc_ticks += v;
                c->has_collectors = true;
        } else if (strcmp(name, "sun.os.hrt.frequency") == 0) {
                c->frequency = v;
                c->has_frequency = v > 0;
        } else if (strcmp(name, "java.cls.loadedClasses") == 0 || strcmp(name, "java.cls.sharedLoadedClasses") == 0) {
                /* As jstat -class counts: from the archive (CDS) or not. */
                c->loaded += v;
                c->has_loaded = true;
        } else if (strcmp(name, "java.cls.unloadedClasses") == 0 ||
                   strcmp(name, "java.cls.sharedUnloadedClasses") == 0) {
                c->unloaded += v;
                c->has_unloaded = true;
        }
}

/* One entry at `off`: its length, or 0 if it does not fit. Only scalar
 * longs ('J', vector length 0) are taken. */
static size_t entry(const struct reader *r, size_t off, struct counters *c) {
        if (r->len - off < ENTRY_HEADER_SIZE)
                return 0;
        uint32_t length = u32_at(r, off), name_off = u32_at(r, off + 4), vector = u32_at(r, off + 8),
                 data_off = u32_at(r, off + 16);
        unsigned char type = r->p[off + 12];
        if (length < ENTRY_HEADER_SIZE || length > r->len - off || name_off < ENTRY_HEADER_SIZE || name_off >= length)
                return 0;
        const char *name = (const char *) r->p + off + name_off;
        size_t room = length - name_off < NAME_MAX_LEN ? length - name_off : NAME_MAX_LEN;
        if (!memchr(name, 0, room))
                return 0;
        if (type == 'J' && vector == 0 && data_off >= ENTRY_HEADER_SIZE && data_off <= length - 8)
                take(c, name, (double) i64_at(r, off + data_off));
        return length;
}

int hsperf_parse(const void *buf, size_t len, struct hsperf_values *ret) {
        static const unsigned char magic[4] = { 0xca, 0xfe, 0xc0, 0xc0 };
        struct reader r = { .p = buf, .len = len };
        if (len < PROLOGUE_SIZE || memcmp(r.p, magic, sizeof magic) != 0 || r.p[4] > 1)
                return -EBADMSG;
        r.little = r.p[4] == 1;
        if (!r.p[7])
                return -EAGAIN;
        /* What the JVM says it used, never more than what was read. */
        uint32_t used = u32_at(&r, 8);
        if (used >= PROLOGUE_SIZE && used < r.len)
                r.len = used;
        uint32_t offset = u32_at(&r, 24), n = u32_at(&r, 28);
        if (offset < PROLOGUE_SIZE || offset > r.len || n > (r.len - offset) / ENTRY_HEADER_SIZE)
                return -EBADMSG;
        struct counters c = {};
        size_t off = offset;
        for (uint32_t i = 0; i < n; i++) {
                size_t length = entry(&r, off, &c);
                if (!length)
                        return -EBADMSG;
                off += length;
        }
        c.v.has_gc = c.has_collectors && c.has_frequency;
        if (c.v.has_gc)
                c.v.gc_seconds = c.gc_ticks / c.frequency;
        c.v.has_classes = c.has_loaded && c.has_unloaded;
        if (c.v.has_classes)
                c.v.classes = c.loaded - c.unloaded;
        *ret = c.v;
        return 0;
}
