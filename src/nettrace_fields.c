/* Walking an event's payload by its metadata's description (the V1
 * field list, or the V2 one an event with arrays has), every length
 * checked against the payload. */
#include <errno.h>
#include <string.h>

#include "nettrace.h"
#include "nettrace_cursor.h"

#define FIELDS_MAX 256
#define DEPTH_MAX 8
#define STEPS_MAX 100000        /* fields walked in one payload */
#define TAG_V2_PARAMS 2         /* a metadata section: the V2 field description */

struct walk {
        struct cursor desc, payload;
        nettrace_field_fn fn;
        void *userdata;
        unsigned steps;
};

/* Bytes a primitive of System.TypeCode `type` takes in a payload; 0 for a
 * string, -1 for a type no payload holds. */
static int type_size(uint32_t type) {
        static const int8_t sizes[] = { [3] = 4, [4] = 2, [5] = 1, [6] = 1, [7] = 2, [8] = 2, [9] = 4, [10] = 4,
                                        [11] = 8, [12] = 8, [13] = 4, [14] = 8, [15] = 16, [16] = 8, [17] = 16,
                                        [18] = 0 };
        return type < sizeof sizes && (sizes[type] || type == 18) ? sizes[type] : -1;
}

static double number(const uint8_t *b, uint32_t type) {
        struct cursor c = { .p = b, .len = 8 };
        switch (type) {
        case 5:
                return (int8_t) b[0];
        case 7:
                return (int16_t) get_le(&c, 2);
        case 9:
                return (int32_t) get_le(&c, 4);
        case 11:
                return (double) (int64_t) get_le(&c, 8);
        case 13: {
                uint32_t u = (uint32_t) get_le(&c, 4);
                float f;
                memcpy(&f, &u, sizeof f);
                return f;
        }
        case 14: {
                uint64_t u = get_le(&c, 8);
                double d;
                memcpy(&d, &u, sizeof d);
                return d;
        }
        case 4: case 6: case 8: case 10: case 12: case 3:
                return (double) get_le(&c, (size_t) type_size(type));
        default:
                return 0;       /* decimal, date, guid: not numbers a rule reads */
        }
}

/* A primitive of `type` named `name`, from the payload to fn. */
static int emit(struct walk *w, const char *name, uint32_t type) {
        int size = type_size(type);
        char text[256];
        struct nettrace_field f = { .name = name };
        if (size < 0)
                return -EBADMSG;
        if (size == 0) {
                if (!get_utf16(&w->payload, text, sizeof text))
                        return -EBADMSG;
                f.is_text = true;
                f.text = text;
        } else {
                const uint8_t *b = take(&w->payload, (size_t) size);
                if (!b)
                        return -EBADMSG;
                f.value = number(b, type);
        }
        w->fn(&f, w->userdata);
        return 0;
}

/* V1: a field count, then each field's type, (an object's fields,) name. */
static int walk_v1(struct walk *w, int depth) {
        uint32_t count = (uint32_t) get_le(&w->desc, 4);
        if (w->desc.short_ || count > FIELDS_MAX || depth > DEPTH_MAX)
                return -EBADMSG;
        for (uint32_t i = 0; i < count; i++) {
                uint32_t type = (uint32_t) get_le(&w->desc, 4);
                char name[128];
                int r = type == 1 ? walk_v1(w, depth + 1) : 0;
                if (r < 0 || !get_utf16(&w->desc, name, sizeof name))
                        return -EBADMSG;
                if (type != 1 && (r = emit(w, name, type)) < 0)
                        return r;
        }
        return 0;
}

static int walk_v2_field(struct walk *w, int depth);

/* A V2 type: a type code; an object's field count and fields; an array's
 * element type. An array in the payload is a 16-bit count, then each
 * element as its type says (its fields flattened, named as theirs). */
static int walk_v2_type(struct walk *w, const char *name, int depth) {
        /* Empty elements of nested arrays would take no payload: bounded
         * by steps, not by the payload's size. */
        if (depth > DEPTH_MAX || ++w->steps > STEPS_MAX)
                return -EBADMSG;
        uint32_t type = (uint32_t) get_le(&w->desc, 4);
        if (w->desc.short_)
                return -EBADMSG;
        if (type == 1) {
                uint32_t count = (uint32_t) get_le(&w->desc, 4);
                if (w->desc.short_ || count > FIELDS_MAX)
                        return -EBADMSG;
                for (uint32_t i = 0; i < count; i++) {
                        int r = walk_v2_field(w, depth + 1);
                        if (r < 0)
                                return r;
                }
                return 0;
        }
        if (type == 19) {
                uint16_t n = (uint16_t) get_le(&w->payload, 2);
                size_t element = w->desc.at;
                if (w->payload.short_)
                        return -EBADMSG;
                for (uint16_t i = 0; i < n; i++) {
                        w->desc.at = element;
                        int r = walk_v2_type(w, name, depth + 1);
                        if (r < 0)
                                return r;
                }
                return 0;       /* the field's size skips the element type */
        }
        return emit(w, name, type);
}

/* A V2 field: its size (itself included), name, type. */
static int walk_v2_field(struct walk *w, int depth) {
        size_t start = w->desc.at;
        uint32_t size = (uint32_t) get_le(&w->desc, 4);
        char name[128];
        if (w->desc.short_ || size < 4 || size > w->desc.len - start || !get_utf16(&w->desc, name, sizeof name))
                return -EBADMSG;
        size_t end = start + size;
        struct cursor whole = w->desc;
        w->desc.len = end;      /* the type may not read past its field */
        int r = walk_v2_type(w, name, depth);
        w->desc = whole;
        w->desc.at = end;
        return r;
}

/* After the V1 fields come tagged sections (a size, a tag, the bytes):
 * an event with an array describes its fields in tag 2 alone, its V1
 * count 0. Leaves desc at that section, bounded by it. */
static bool find_v2(struct cursor *desc) {
        while (desc->at < desc->len) {
                uint32_t size = (uint32_t) get_le(desc, 4);
                const uint8_t *tag = take(desc, 1);
                if (!tag || size > desc->len - desc->at)
                        return false;
                if (*tag == TAG_V2_PARAMS) {
                        desc->len = desc->at + size;
                        return true;
                }
                take(desc, size);
        }
        return false;
}

int nettrace_fields(const struct nettrace_event *ev, nettrace_field_fn fn, void *userdata) {
        struct walk w = { .desc = { .p = ev->meta->fields, .len = ev->meta->fields_len },
                          .payload = { .p = ev->payload, .len = ev->len }, .fn = fn, .userdata = userdata };
        struct cursor v1 = w.desc;
        if (get_le(&v1, 4) != 0 || v1.short_)
                return walk_v1(&w, 0);
        w.desc = v1;
        if (!find_v2(&w.desc))
                return 0;       /* no fields at all */
        uint32_t count = (uint32_t) get_le(&w.desc, 4);
        if (w.desc.short_ || count > FIELDS_MAX)
                return -EBADMSG;
        for (uint32_t i = 0; i < count; i++) {
                int r = walk_v2_field(&w, 1);
                if (r < 0)
                        return r;
        }
        return 0;
}
