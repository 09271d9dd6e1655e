/* The polled half of the data flow, once a tick: for each target, the
 * bindings that are due, one read through the sources for the metrics they
 * want, and a value for each of them handed to the consumers. */
#pragma once

#include "consumer.h"
#include "source.h"
#include "target.h"

/* Samples the due bindings of `tg`. `tick` is the timer's period: a binding
 * due within half of it counts as due now. An error (-ESRCH: gone) means
 * the target can no longer be read. */
int sampling_sample_target(struct sources *sources, const struct consumers *consumers, struct target *tg,
                           usec_t tick, usec_t mono, usec_t wall);
