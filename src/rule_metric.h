/* Parsing a rule's `metric`: a name of the table ("rss"), or a metric the
 * rule names itself, {dotnet: "Provider/counter"} (metric.h's forms). */
#pragma once

#include "metric.h"
#include "schema.h"

/* The metric of node `n`; false (reported at `n`) when there is none. */
bool rule_parse_metric(struct schema_ctx *c, const struct ynode *n, enum metric *ret);
