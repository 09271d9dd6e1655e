/* Parsing a rule's `actions` list (rules.c parses the rest of a rule). */
#pragma once

#include "rules.h"
#include "schema.h"

/* Fills r->actions from the list `n`, reporting every problem. */
void rule_parse_actions(struct schema_ctx *c, const struct ynode *n, struct rule *r);
