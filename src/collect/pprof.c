#include "pprof.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../util.h"

/* ---- tables --------------------------------------------------------------- */

static int grow(void **items, size_t n, size_t size) {
        /* Capacity doubles at each power of two: no separate cap field. */
        if (n && (n & (n - 1)))
                return 0;
        void *m = realloc(*items, (n ? 2 * n : 8) * size);
        if (!m)
                return -ENOMEM;
        *items = m;
        return 0;
}

/* The string table's fixed start: "" must be index 0; then the names of
 * the sample types, at the indexes encode() uses. */
enum { S_EMPTY, S_SAMPLES, S_COUNT, S_CPU, S_NANOSECONDS };

int pprof_init(struct pprof *p) {
        static const char *const fixed[] = { "", "samples", "count", "cpu", "nanoseconds" };
        *p = (struct pprof) {};
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                if (pprof_string(p, fixed[i]) != (int64_t) i) {
                        pprof_free(p);
                        return -ENOMEM;
                }
        return 0;
}

void pprof_free(struct pprof *p) {
        for (size_t i = 0; i < p->n_strings; i++)
                free(p->strings[i]);
        free(p->strings);
        free(p->functions);
        free(p->mappings);
        free(p->locations);
        for (size_t i = 0; i < p->n_samples; i++)
                free(p->samples[i].location_ids);
        free(p->samples);
        *p = (struct pprof) {};
}

int64_t pprof_string(struct pprof *p, const char *s) {
        /* Few distinct strings (function and file names): a scan will do. */
        for (size_t i = 0; i < p->n_strings; i++)
                if (strcmp(p->strings[i], s) == 0)
                        return (int64_t) i;
        char *copy = strdup(s);
        if (!copy || grow((void **) &p->strings, p->n_strings, sizeof *p->strings) < 0) {
                free(copy);
                return -1;
        }
        p->strings[p->n_strings] = copy;
        return (int64_t) p->n_strings++;
}

uint64_t pprof_function(struct pprof *p, const char *name, const char *file) {
        int64_t n = pprof_string(p, name), f = pprof_string(p, file ? file : "");
        if (n < 0 || f < 0)
                return 0;
        for (size_t i = 0; i < p->n_functions; i++)
                if (p->functions[i].name == n && p->functions[i].filename == f)
                        return i + 1;
        if (grow((void **) &p->functions, p->n_functions, sizeof *p->functions) < 0)
                return 0;
        p->functions[p->n_functions++] = (struct pprof_function) { n, f };
        return p->n_functions;
}

uint64_t pprof_mapping(struct pprof *p, uint64_t start, uint64_t limit, uint64_t offset, const char *file,
                       const char *build_id) {
        int64_t f = pprof_string(p, file), b = pprof_string(p, build_id);
        if (f < 0 || b < 0 || grow((void **) &p->mappings, p->n_mappings, sizeof *p->mappings) < 0)
                return 0;
        p->mappings[p->n_mappings++] = (struct pprof_mapping) { start, limit, offset, f, b };
        return p->n_mappings;
}

uint64_t pprof_location(struct pprof *p, uint64_t address, uint64_t mapping_id, uint64_t function_id,
                        int64_t line) {
        if (grow((void **) &p->locations, p->n_locations, sizeof *p->locations) < 0)
                return 0;
        p->locations[p->n_locations++] = (struct pprof_location) { address, mapping_id, function_id, line };
        return p->n_locations;
}

int pprof_add_sample(struct pprof *p, const uint64_t *location_ids, size_t n, int64_t count, int64_t nanos) {
        uint64_t *ids = malloc((n ? n : 1) * sizeof *ids);
        if (!ids || grow((void **) &p->samples, p->n_samples, sizeof *p->samples) < 0) {
                free(ids);
                return -ENOMEM;
        }
        memcpy(ids, location_ids, n * sizeof *ids);
        p->samples[p->n_samples++] = (struct pprof_sample) { ids, n, count, nanos };
        return 0;
}

/* ---- protobuf encoding ---------------------------------------------------- */

struct buf {
        uint8_t *data;
        size_t len, cap;
        bool oom;
};

static void put(struct buf *b, const void *data, size_t len) {
        if (b->oom)
                return;
        if (b->len + len > b->cap) {
                size_t cap = (b->cap + len) * 2;
                uint8_t *n = realloc(b->data, cap);
                if (!n) {
                        b->oom = true;
                        return;
                }
                b->data = n;
                b->cap = cap;
        }
        memcpy(b->data + b->len, data, len);
        b->len += len;
}

static void varint(struct buf *b, uint64_t v) {
        uint8_t tmp[10];
        size_t n = 0;
        do {
                tmp[n] = (uint8_t) (v & 0x7f);
                v >>= 7;
                if (v)
                        tmp[n] |= 0x80;
                n++;
        } while (v);
        put(b, tmp, n);
}

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

static void field_varint(struct buf *b, unsigned field, uint64_t v) {
        if (v == 0)
                return;         /* proto3: zero is the default, left out */
        varint(b, (uint64_t) field << 3 | WIRE_VARINT);
        varint(b, v);
}

static void field_bytes(struct buf *b, unsigned field, const void *data, size_t len) {
        varint(b, (uint64_t) field << 3 | WIRE_LEN);
        varint(b, len);
        put(b, data, len);
}

/* A nested message: encoded in `inner`, then appended with its length. */
static void field_message(struct buf *b, unsigned field, struct buf *inner) {
        field_bytes(b, field, inner->data, inner->len);
        b->oom |= inner->oom;
        inner->len = 0;
}

static void field_packed(struct buf *b, unsigned field, const uint64_t *v, size_t n, struct buf *tmp) {
        for (size_t i = 0; i < n; i++)
                varint(tmp, v[i]);
        field_message(b, field, tmp);
}

static void value_type(struct buf *b, unsigned field, int64_t type, int64_t unit, struct buf *tmp) {
        field_varint(tmp, 1, (uint64_t) type);
        field_varint(tmp, 2, (uint64_t) unit);
        field_message(b, field, tmp);
}

static int encode(const struct pprof *p, struct buf *out) {
        struct buf msg = {}, tmp = {};
        value_type(out, 1, S_SAMPLES, S_COUNT, &tmp);
        value_type(out, 1, S_CPU, S_NANOSECONDS, &tmp);
        for (size_t i = 0; i < p->n_samples; i++) {
                const struct pprof_sample *s = &p->samples[i];
                uint64_t values[2] = { (uint64_t) s->count, (uint64_t) s->nanos };
                field_packed(&msg, 1, s->location_ids, s->n_locations, &tmp);
                field_packed(&msg, 2, values, 2, &tmp);
                field_message(out, 2, &msg);
        }
        for (size_t i = 0; i < p->n_mappings; i++) {
                const struct pprof_mapping *m = &p->mappings[i];
                field_varint(&msg, 1, i + 1);
                field_varint(&msg, 2, m->start);
                field_varint(&msg, 3, m->limit);
                field_varint(&msg, 4, m->offset);
                field_varint(&msg, 5, (uint64_t) m->filename);
                field_varint(&msg, 6, (uint64_t) m->build_id);
                field_varint(&msg, 7, 1);       /* has_functions */
                field_varint(&msg, 8, 1);       /* has_filenames */
                field_varint(&msg, 9, 1);       /* has_line_numbers */
                field_message(out, 3, &msg);
        }
        for (size_t i = 0; i < p->n_locations; i++) {
                const struct pprof_location *l = &p->locations[i];
                field_varint(&msg, 1, i + 1);
                field_varint(&msg, 2, l->mapping_id);
                field_varint(&msg, 3, l->address);
                if (l->function_id) {
                        struct buf line = {};
                        field_varint(&line, 1, l->function_id);
                        field_varint(&line, 2, (uint64_t) l->line);
                        field_message(&msg, 4, &line);
                        free(line.data);
                }
                field_message(out, 4, &msg);
        }
        for (size_t i = 0; i < p->n_functions; i++) {
                field_varint(&msg, 1, i + 1);
                field_varint(&msg, 2, (uint64_t) p->functions[i].name);
                field_varint(&msg, 3, (uint64_t) p->functions[i].name);
                field_varint(&msg, 4, (uint64_t) p->functions[i].filename);
                field_message(out, 5, &msg);
        }
        for (size_t i = 0; i < p->n_strings; i++)
                field_bytes(out, 6, p->strings[i], strlen(p->strings[i]));
        field_varint(out, 9, (uint64_t) p->time_nanos);
        field_varint(out, 10, (uint64_t) p->duration_nanos);
        value_type(out, 11, S_CPU, S_NANOSECONDS, &tmp);
        field_varint(out, 12, (uint64_t) p->period);
        free(msg.data);
        free(tmp.data);
        return out->oom ? -ENOMEM : 0;
}

int pprof_write_gzip(const struct pprof *p, int fd) {
        struct buf out = {};
        int r = encode(p, &out);
        if (r < 0) {
                free(out.data);
                return r;
        }
        z_stream z = {};
        /* windowBits 15 + 16: a gzip wrapper, which pprof expects. */
        if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
                free(out.data);
                return -ENOMEM;
        }
        z.next_in = out.data;
        z.avail_in = (uInt) out.len;
        uint8_t chunk[1 << 16];
        int zr;
        do {
                z.next_out = chunk;
                z.avail_out = sizeof chunk;
                zr = deflate(&z, Z_FINISH);
                if (zr == Z_STREAM_ERROR) {
                        r = -EIO;
                        break;
                }
                if ((r = write_all(fd, chunk, sizeof chunk - z.avail_out)) < 0)
                        break;
        } while (zr != Z_STREAM_END);
        deflateEnd(&z);
        free(out.data);
        return r;
}
