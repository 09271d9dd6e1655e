/* Parsing a rule's `actions` list (rules.c parses the rest of a rule). */
#pragma once

#include "rules.h"
#include "schema.h"

/* {argv: [/path, args…], timeout: 30s}, for exec and on_complete (`what`
 * in messages). */
void rule_parse_command(struct schema_ctx *c, const struct ynode *n, const char *what, struct action *a);
/* Fills r->actions from the list `n`, reporting every problem. */
void rule_parse_actions(struct schema_ctx *c, const struct ynode *n, struct rule *r);
/* go: {pprof: HOST:PORT}, where a Go target serves net/http/pprof. */
void rule_parse_go(struct schema_ctx *c, const struct ynode *n, struct rule *r);
