/* A .NET runtime's EventPipe stream: the target writes it; the watchdog
 * parses it as it arrives, in pieces of any size, and walks every event's
 * payload by a description the stream itself carries. */
#include "fuzz.h"

#include "nettrace.h"

static void on_field(const struct nettrace_field *f, void *userdata) {
        (void) f;
        (void) userdata;
}

static void on_event(const struct nettrace_event *ev, void *userdata) {
        nettrace_fields(ev, on_field, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct nettrace *p;
        if (nettrace_new(&p) < 0)
                return 0;
        /* In two pieces, split where the first byte says: a block cut
         * anywhere is completed by the next piece. */
        size_t split = size ? data[0] % (size + 1) : 0;
        uint8_t *a = malloc(split ? split : 1), *b = malloc(size - split ? size - split : 1);
        if (a && b) {
                memcpy(a, data, split);
                memcpy(b, data + split, size - split);
                if (nettrace_feed(p, a, split, on_event, NULL) >= 0)
                        nettrace_feed(p, b, size - split, on_event, NULL);
        }
        free(a);
        free(b);
        nettrace_free(p);
        return 0;
}
