/* A JIT's perf map (/tmp/perf-PID.map): written by the target, read by a
 * collector running as root. Each parsed map is also searched. */
#include "fuzz.h"

#include "collect/perfmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_string(data, size);
        struct perf_map m = {};
        if (perf_map_parse(text, &m) == 0) {
                for (uint64_t addr = 0; addr < 0x10000; addr += 0x1000)
                        perf_map_find(&m, addr);
                perf_map_find(&m, UINT64_MAX);
                perf_map_free(&m);
        }
        free(text);
        return 0;
}
