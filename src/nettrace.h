/* The nettrace stream an EventPipe session sends (the format PerfView's
 * NetTraceFormat_v5.md describes): "Nettrace", the FastSerialization
 * header, a Trace object, then blocks — metadata records describing each
 * kind of event, event blobs (headers compressed against the one before),
 * stacks and sequence points — each a FastSerialization object whose
 * blocks are 4-byte aligned in the stream.
 *
 * The stream is the target's and arrives in pieces: it is parsed as it
 * comes, a whole block at a time, every length checked against what was
 * received and bounded; anything malformed ends the parse with -EBADMSG,
 * never a read out of bounds. Pure. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A kind of event, from a metadata record. */
struct nettrace_meta {
        uint32_t id;
        uint32_t event_id;
        char provider[128];
        char name[128];
        const uint8_t *fields;  /* the payload's description: V1 fields, then tagged sections (V2 fields) */
        size_t fields_len;
};

struct nettrace_event {
        const struct nettrace_meta *meta;
        const uint8_t *payload;
        size_t len;
        uint64_t timestamp;     /* QPC ticks: nettrace_ticks_per_second() a second */
        uint8_t activity[16];   /* what pairs an operation's start with its stop */
};

typedef void (*nettrace_event_fn)(const struct nettrace_event *ev, void *userdata);

struct nettrace;

int nettrace_new(struct nettrace **ret);
void nettrace_free(struct nettrace *p);
/* Takes the next bytes of the stream and calls fn for each event they
 * complete. 0, or 1 once the stream has ended; -EBADMSG when it is not a
 * nettrace stream or is corrupt (then it takes nothing more). */
int nettrace_feed(struct nettrace *p, const void *data, size_t len, nettrace_event_fn fn, void *userdata);

/* The stream's timestamp frequency (its Trace object's), 0 before it. */
uint64_t nettrace_ticks_per_second(const struct nettrace *p);

/* One primitive field of an event's payload, walked by its metadata:
 * nested objects and arrays flattened (their fields come in order, an
 * array's element after element), `value` for numbers, `text` (UTF-16
 * made ASCII, cut to 255) for strings. */
struct nettrace_field {
        const char *name;
        bool is_text;
        double value;
        const char *text;
};
typedef void (*nettrace_field_fn)(const struct nettrace_field *f, void *userdata);
/* -EBADMSG when the payload does not fit its description. */
int nettrace_fields(const struct nettrace_event *ev, nettrace_field_fn fn, void *userdata);
