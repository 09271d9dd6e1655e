/* Checking a YAML tree against a schema (rule files): typed getters that
 * report every problem as FILE:LINE:COL and go on, so one pass finds all. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"
#include "util.h"
#include "yamltree.h"

struct schema_ctx {
        const char *file;
        struct diags *diags;
        size_t errors;
};

/* A copy of the scalar `n`; out of memory is an error at `n`, never a
 * value quietly missing from a rule. */
char *schema_strdup(struct schema_ctx *c, const struct ynode *n);
void schema_err(struct schema_ctx *c, const struct ynode *n, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Whether `n` is of `type`; else reports that `what` must be. */
bool schema_want(struct schema_ctx *c, const struct ynode *n, enum ynode_type type, const char *what);
/* Reports keys not in `allowed` (with the near miss), keys listed in
 * `planned` as not supported yet, and keys given twice. */
void schema_check_keys(struct schema_ctx *c, const struct ynode *map, const char *where,
                       const char *const *allowed, const char *const *planned);
/* The value of `key` in `map`, or NULL. */
const struct ynode *schema_get(const struct ynode *map, const char *key);
bool schema_duration(struct schema_ctx *c, const struct ynode *n, const char *what, usec_t *ret);
/* A whole number ≥ min (0 or 1). */
bool schema_unsigned(struct schema_ctx *c, const struct ynode *n, const char *what, unsigned min, unsigned *ret);
bool schema_bool(struct schema_ctx *c, const struct ynode *n, const char *what, bool *ret);
/* An empty value (`core:` with nothing after it). */
bool schema_is_null(const struct ynode *n);
