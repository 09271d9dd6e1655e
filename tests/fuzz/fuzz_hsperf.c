/* A JVM's hsperfdata file: the target owns it and may write anything
 * into it; the watchdog parses it every sample. */
#include "fuzz.h"

#include "hsperf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* A copy of its own size, so reading one byte past it is caught. */
        uint8_t *copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        struct hsperf_values v;
        hsperf_parse(copy, size, &v);
        free(copy);
        return 0;
}
