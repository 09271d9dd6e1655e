/* Parsing a rule's `when` (rules.c parses the rest of a rule). */
#pragma once

#include "engine.h"
#include "metric.h"
#include "schema.h"

/* Bounds shared by a rule's timing and its condition. */
#define RULE_COUNT_MAX 100000                           /* max; for, in samples */
#define RULE_DURATION_MAX (86400 * USEC_PER_SEC)        /* interval; for, as a duration */

/* Fills `cond` from the mapping `n`, reporting every problem. `mi` is the
 * rule's metric (NULL if it was not valid); `interval` its sampling
 * period. */
void rule_parse_when(struct schema_ctx *c, const struct ynode *n, const struct metric_info *mi, usec_t interval,
                     struct condition *cond);
/* "above 1.5GiB, spike 25%, min 200MiB, for 3": a condition as people
 * write it, for the recording and the report's legend. */
void rule_when_describe(enum metric m, const struct condition *c, char *buf, size_t size);
