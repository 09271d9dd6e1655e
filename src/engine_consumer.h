/* The engine as a consumer of samples: each value goes through its
 * binding's engine state; a firing is logged and handed to the
 * collections (or, on a dry run, only logged). */
#pragma once

#include <stdbool.h>

#include "collections.h"
#include "consumer.h"

struct engine_consumer {
        struct collections *collections;
        bool dry_run;
        unsigned firings;
        /* The last firing, for the service's status line. */
        usec_t last_wall;
        char last[160];                 /* "memory-high on myapp[812]" */
};

void engine_consume(const struct sample_event *ev, void *userdata);
