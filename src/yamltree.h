/* A small document tree built from libyaml's event stream, so the rule
 * schema can be checked with positions on every node (libyaml marks are
 * 0-based; nodes carry line+1, column+1). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

enum ynode_type { YNODE_SCALAR, YNODE_MAP, YNODE_SEQ };

struct ynode {
        enum ynode_type type;
        int line, col;
        char *scalar;           /* YNODE_SCALAR */
        bool quoted;            /* a quoted scalar is always a string */
        struct ynode **items;   /* YNODE_SEQ: the items; YNODE_MAP: key, value, key, … */
        size_t nitems;
        size_t n;               /* list items, or mapping pairs */
};

/* Parses `text` (named `file` in messages). On a syntax error adds a
 * diagnostic and returns -EINVAL. An empty document gives *ret = NULL. */
int ynode_parse(const char *file, const char *text, size_t len, struct diags *diags,
                struct ynode **ret);
void ynode_free(struct ynode *n);

static inline struct ynode *ynode_key(const struct ynode *map, size_t i) { return map->items[2 * i]; }
static inline struct ynode *ynode_value(const struct ynode *map, size_t i) { return map->items[2 * i + 1]; }
const char *ynode_type_name(const struct ynode *n);
