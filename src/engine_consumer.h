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
};

void engine_consume(const struct sample_event *ev, void *userdata);
