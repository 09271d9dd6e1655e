#include "nettrace.h"
#include "nettrace_cursor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_MAX (16u << 20)   /* the runtime's blocks are 100 KiB or less */
#define METAS_MAX 65536

enum { TAG_NULL = 1, TAG_BEGIN_PRIVATE_OBJECT = 5, TAG_END_OBJECT = 6 };

struct nettrace {
        uint8_t *buf;                   /* bytes not parsed yet */
        size_t len, cap;
        uint64_t offset;                /* the stream offset of buf[0]: blocks align to it */
        enum { AT_MAGIC, AT_OBJECT, AT_END, AT_BAD } state;
        struct nettrace_meta **metas;   /* each with its description in the same allocation */
        size_t n_metas;
        uint64_t ticks_per_second;
};

int nettrace_new(struct nettrace **ret) {
        struct nettrace *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

void nettrace_free(struct nettrace *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n_metas; i++)
                free(p->metas[i]);
        free(p->metas);
        free(p->buf);
        free(p);
}

static const struct nettrace_meta *meta_find(const struct nettrace *p, uint32_t id) {
        for (size_t i = 0; i < p->n_metas; i++)
                if (p->metas[i]->id == id)
                        return p->metas[i];
        return NULL;
}

/* A metadata record: the id it defines, provider, event id and name,
 * keywords, version, level, then the payload's description (kept). */
static int add_meta(struct nettrace *p, const uint8_t *payload, size_t len) {
        if (p->n_metas == METAS_MAX || len > BLOCK_MAX)
                return -EBADMSG;
        struct nettrace_meta *m = calloc(1, sizeof *m + len);
        if (!m)
                return -ENOMEM;
        uint8_t *copy = (uint8_t *) (m + 1);
        memcpy(copy, payload, len);
        struct cursor c = { .p = copy, .len = len };
        m->id = (uint32_t) get_le(&c, 4);
        bool ok = get_utf16(&c, m->provider, sizeof m->provider);
        m->event_id = (uint32_t) get_le(&c, 4);
        ok = ok && get_utf16(&c, m->name, sizeof m->name);
        take(&c, 8 + 4 + 4);    /* keywords, version, level */
        if (!ok || c.short_ || m->id == 0) {
                free(m);
                return -EBADMSG;
        }
        m->fields = copy + c.at;
        m->fields_len = len - c.at;
        struct nettrace_meta **grown = realloc(p->metas, (p->n_metas + 1) * sizeof *grown);
        if (!grown) {
                free(m);
                return -ENOMEM;
        }
        p->metas = grown;
        p->metas[p->n_metas++] = m;
        return 0;
}

/* The fields of a compressed event header carried from the event before. */
struct header_state {
        uint32_t metadata_id, sequence, processor, stack_id, payload_size;
        uint64_t capture_thread, thread, timestamp;
        uint8_t activity[16];
};

static void read_compressed_header(struct cursor *c, struct header_state *h) {
        const uint8_t *flags = take(c, 1);
        if (!flags)
                return;
        if (*flags & 1)
                h->metadata_id = (uint32_t) get_varint(c);
        if (*flags & 2) {
                h->sequence += (uint32_t) get_varint(c);
                h->capture_thread = get_varint(c);
                h->processor = (uint32_t) get_varint(c);
        }
        if (h->metadata_id)
                h->sequence++;
        if (*flags & 4)
                h->thread = get_varint(c);
        if (*flags & 8)
                h->stack_id = (uint32_t) get_varint(c);
        h->timestamp += get_varint(c);
        const uint8_t *activity = *flags & 16 ? take(c, 16) : NULL;
        if (activity)
                memcpy(h->activity, activity, 16);
        if (*flags & 32)
                take(c, 16);
        if (*flags & 128)
                h->payload_size = (uint32_t) get_varint(c);
}

static void read_plain_header(struct cursor *c, struct header_state *h) {
        get_le(c, 4);           /* the event's size */
        h->metadata_id = (uint32_t) get_le(c, 4) & 0x7fffffff;
        h->sequence = (uint32_t) get_le(c, 4);
        h->thread = get_le(c, 8);
        h->capture_thread = get_le(c, 8);
        h->processor = (uint32_t) get_le(c, 4);
        h->stack_id = (uint32_t) get_le(c, 4);
        h->timestamp = get_le(c, 8);
        const uint8_t *activity = take(c, 16);
        if (activity)
                memcpy(h->activity, activity, 16);
        take(c, 16);            /* the related activity */
        h->payload_size = (uint32_t) get_le(c, 4);
}

/* An EventBlock or MetadataBlock whose content starts at stream offset
 * `at`: a header, then event blobs to its very end. */
static int parse_block(struct nettrace *p, const uint8_t *block, size_t len, uint64_t at, bool is_meta,
                       nettrace_event_fn fn, void *userdata) {
        struct cursor c = { .p = block, .len = len };
        uint16_t header_size = (uint16_t) get_le(&c, 2), flags = (uint16_t) get_le(&c, 2);
        if (c.short_ || header_size < 20 || !take(&c, header_size - 4u))
                return -EBADMSG;
        struct header_state h = {};
        while (c.at < c.len) {
                if (flags & 1)
                        read_compressed_header(&c, &h);
                else
                        read_plain_header(&c, &h);
                const uint8_t *payload = take(&c, h.payload_size);
                if (!payload)
                        return -EBADMSG;
                if (!(flags & 1))
                        take(&c, (4 - (at + c.at) % 4) % 4);
                if (is_meta) {
                        int r = add_meta(p, payload, h.payload_size);
                        if (r < 0)
                                return r;
                        continue;
                }
                const struct nettrace_meta *m = meta_find(p, h.metadata_id);
                if (!m)
                        continue;       /* an event whose description was lost: skipped */
                struct nettrace_event ev = { .meta = m, .payload = payload, .len = h.payload_size,
                                             .timestamp = h.timestamp };
                memcpy(ev.activity, h.activity, sizeof ev.activity);
                fn(&ev, userdata);
        }
        return c.short_ ? -EBADMSG : 0;
}

/* One object at the start of the buffer: its size once it is all there,
 * 0 while it is not, -EBADMSG if it is no object this reader knows. */
static int parse_object(struct nettrace *p, nettrace_event_fn fn, void *userdata) {
        struct cursor c = { .p = p->buf, .len = p->len };
        const uint8_t *tag = take(&c, 1);
        if (!tag)
                return 0;
        if (*tag == TAG_NULL) {
                p->state = AT_END;
                return 1;
        }
        const uint8_t *type_tags = take(&c, 2);
        uint32_t version = (uint32_t) get_le(&c, 4);
        get_le(&c, 4);          /* the oldest reader version */
        uint32_t name_len = (uint32_t) get_le(&c, 4);
        if (!c.short_ && (*tag != TAG_BEGIN_PRIVATE_OBJECT || type_tags[0] != TAG_BEGIN_PRIVATE_OBJECT ||
                          type_tags[1] != TAG_NULL || name_len > 32))
                return -EBADMSG;
        char name[33] = "";
        const uint8_t *n = take(&c, name_len);
        const uint8_t *end_type = take(&c, 1);
        if (c.short_)
                return 0;
        memcpy(name, n, name_len);
        if (*end_type != TAG_END_OBJECT)
                return -EBADMSG;
        if (strcmp(name, "Trace") == 0) {
                /* The sync time and QPC, the QPC frequency, pointer size,
                 * pid, processors, sampling rate: the frequency is kept. */
                take(&c, 16 + 8);
                uint64_t frequency = get_le(&c, 8);
                take(&c, 4 * 4);
                if (!c.short_)
                        p->ticks_per_second = frequency;
        } else if (strcmp(name, "EventBlock") == 0 || strcmp(name, "MetadataBlock") == 0 ||
                   strcmp(name, "StackBlock") == 0 || strcmp(name, "SPBlock") == 0) {
                uint32_t size = (uint32_t) get_le(&c, 4);
                if (!c.short_ && (size > BLOCK_MAX || version < 2))
                        return -EBADMSG;
                take(&c, (4 - (p->offset + c.at) % 4) % 4);
                uint64_t at = p->offset + c.at;
                const uint8_t *block = take(&c, size);
                if (c.short_)
                        return 0;
                /* Only a whole object is parsed, its end tag included: a
                 * block's events are handed over once. */
                const uint8_t *end = take(&c, 1);
                if (c.short_)
                        return 0;
                if (*end != TAG_END_OBJECT)
                        return -EBADMSG;
                bool meta = name[0] == 'M';
                int r = name[0] == 'E' || meta ? parse_block(p, block, size, at, meta, fn, userdata) : 0;
                return r < 0 ? r : (int) c.at;
        } else
                return -EBADMSG;
        const uint8_t *end = take(&c, 1);
        if (c.short_)
                return 0;
        return *end == TAG_END_OBJECT ? (int) c.at : -EBADMSG;
}

static int parse_magic(struct nettrace *p) {
        static const char magic[] = "Nettrace\x14\0\0\0!FastSerialization.1";
        size_t n = sizeof magic - 1;
        if (memcmp(p->buf, magic, p->len < n ? p->len : n) != 0)
                return -EBADMSG;
        if (p->len < n)
                return 0;
        p->state = AT_OBJECT;
        return (int) n;
}

int nettrace_feed(struct nettrace *p, const void *data, size_t len, nettrace_event_fn fn, void *userdata) {
        if (p->state == AT_BAD)
                return -EBADMSG;
        if (p->state == AT_END)
                return 1;
        if (p->len + len > p->cap) {
                size_t cap = p->cap ? p->cap : 65536;
                while (cap < p->len + len)
                        cap *= 2;
                uint8_t *grown = cap <= 2 * BLOCK_MAX ? realloc(p->buf, cap) : NULL;
                if (!grown) {
                        p->state = AT_BAD;
                        return cap <= 2 * BLOCK_MAX ? -ENOMEM : -EBADMSG;
                }
                p->buf = grown;
                p->cap = cap;
        }
        memcpy(p->buf + p->len, data, len);
        p->len += len;
        int r;
        size_t done = 0;
        do {
                /* The object is parsed where it starts in the buffer. */
                if (done) {
                        memmove(p->buf, p->buf + done, p->len - done);
                        p->len -= done;
                        p->offset += done;
                }
                r = p->len == 0 ? 0 : p->state == AT_MAGIC ? parse_magic(p) : parse_object(p, fn, userdata);
                done = r > 0 ? (size_t) r : 0;
        } while (r > 0 && p->state != AT_END);
        if (r < 0) {
                p->state = AT_BAD;
                return r;
        }
        return p->state == AT_END ? 1 : 0;
}

uint64_t nettrace_ticks_per_second(const struct nettrace *p) {
        return p->ticks_per_second;
}
