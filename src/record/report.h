/* The morning-after report: one self-contained HTML file (no network, no
 * external script, style or font) from a recording — a summary, a
 * timeline across targets, and per target a chart of each recorded
 * metric with the rules' thresholds and every firing linked to its
 * artifact. Reads with scripts off; a few lines of script add the value
 * under the pointer. */
#pragma once

#include <stddef.h>

#include "reader.h"
#include "replay.h"

/* A replay's would-be firings, drawn beside the real ones. */
struct report_replay {
        const char *rules;              /* the rules' path, for the legend */
        struct replay_firing *firings;
        size_t n;
};

/* Writes the report to `path` (replaced whole, through a temporary name).
 * `replay` may be NULL. On failure, why in `err`. */
int report_write_file(const struct recording *rec, const struct report_replay *replay, const char *path, char *err,
                      size_t err_size);
