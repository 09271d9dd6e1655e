/* trigger.json: what fired, why, on what, and what each action did. */
#pragma once

#include <jansson.h>

#include "collector.h"

#define TRIGGER_SCHEMA 1

json_t *trigger_new(const struct proc_root *proc, const struct firing *f);
void trigger_set_action(json_t *doc, size_t index, const struct action_result *res, bool running);
void trigger_set_snapshot(json_t *doc, const struct action_result *res);
