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
        /* Told of each firing (the recorder); NULL: no one asks. */
        void (*fired)(const struct sample_event *ev, const struct decision *d, bool dry_run, void *userdata);
        void *fired_userdata;
        unsigned firings;
        /* The last firing, for the service's status line. */
        usec_t last_wall;
        char last[160];                 /* "memory-high on myapp[812]" */
};

void engine_consume(const struct sample_event *ev, void *userdata);
