/* /proc/PID/smaps, which the core writer plans its dump from. */
#include "fuzz.h"

#include "collect/maps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_string(data, size);
        struct mapping_list l = {};
        if (maps_parse_smaps(text, &l) == 0) {
                for (size_t i = 0; i < l.n; i++)
                        maps_dump_extent(&l.items[i], 0x33, false);
                maps_free(&l);
        }
        free(text);
        return 0;
}
