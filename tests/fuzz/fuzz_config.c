/* The INI config parser. */
#include "fuzz.h"

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_string(data, size);
        struct config c;
        struct diags diags = {};
        config_defaults(&c);
        config_load_text(&c, "fuzz.conf", text, size, &diags);
        config_free(&c);
        diags_free(&diags);
        free(text);
        return 0;
}
