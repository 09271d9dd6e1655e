/* Reading the little-endian, length-checked fields of a nettrace stream
 * (nettrace.c) and of its events' payloads (nettrace_fields.c). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A bounded read cursor: running past the end sets `short_`. */
struct cursor {
        const uint8_t *p;
        size_t len, at;
        bool short_;
};

static inline const uint8_t *take(struct cursor *c, size_t n) {
        if (c->short_ || n > c->len - c->at) {
                c->short_ = true;
                return NULL;
        }
        c->at += n;
        return c->p + c->at - n;
}

static inline uint64_t get_le(struct cursor *c, size_t n) {
        const uint8_t *b = take(c, n);
        uint64_t v = 0;
        for (size_t i = 0; b && i < n; i++)
                v |= (uint64_t) b[i] << (8 * i);
        return v;
}

static inline uint64_t get_varint(struct cursor *c) {
        uint64_t v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
                const uint8_t *b = take(c, 1);
                if (!b)
                        return 0;
                v |= (uint64_t) (*b & 0x7f) << shift;
                if (!(*b & 0x80))
                        return v;
        }
        c->short_ = true;       /* longer than 10 bytes: corrupt */
        return 0;
}

/* A NUL-terminated UTF-16 string, as ASCII into buf (others '?'). */
static inline bool get_utf16(struct cursor *c, char *buf, size_t size) {
        size_t n = 0;
        for (;;) {
                const uint8_t *b = take(c, 2);
                if (!b)
                        return false;
                uint16_t u = (uint16_t) (b[0] | b[1] << 8);
                if (!u)
                        break;
                if (n + 1 < size)
                        buf[n++] = u >= 0x20 && u < 0x80 ? (char) u : '?';
        }
        buf[n] = 0;
        return true;
}
