/* The rule-file parser: YAML, the schema, units, patterns. */
#include "fuzz.h"

#include "log.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text = fuzz_string(data, size);
        struct rule_set set = {};
        struct diags diags = {};
        rules_load_text(&set, "fuzz.yaml", text, size, &diags);
        rule_set_free(&set);
        diags_free(&diags);
        free(text);
        return 0;
}
