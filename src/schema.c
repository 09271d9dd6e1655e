/* Checking a YAML tree against a schema: typed getters that report every
 * problem with its position and go on, so one pass finds them all. */
#include "schema.h"

#include <stdarg.h>
#include <string.h>

#include "suggest.h"
#include "units.h"

void schema_err(struct schema_ctx *c, const struct ynode *n, const char *fmt, ...) {
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        diags_add(c->diags, c->file, n->line, n->col, "%s", msg);
        c->errors++;
}

bool schema_want(struct schema_ctx *c, const struct ynode *n, enum ynode_type type, const char *what) {
        if (n->type == type)
                return true;
        static const char *const names[] = {
                [YNODE_SCALAR] = "a scalar", [YNODE_MAP] = "a mapping", [YNODE_SEQ] = "a list",
        };
        schema_err(c, n, "%s must be %s, not %s", what, names[type], ynode_type_name(n));
        return false;
}

/* Reports keys not in `allowed` (with the near miss), keys listed in
 * `planned` as not supported yet, and keys given twice. */
void schema_check_keys(struct schema_ctx *c, const struct ynode *map, const char *where,
                       const char *const *allowed, const char *const *planned) {
        for (size_t i = 0; i < map->n; i++) {
                const struct ynode *k = ynode_key(map, i);
                if (k->type != YNODE_SCALAR) {
                        schema_err(c, k, "keys in %s must be plain words", where);
                        continue;
                }
                for (size_t j = 0; j < i; j++) {
                        const struct ynode *prev = ynode_key(map, j);
                        if (prev->type == YNODE_SCALAR && strcmp(prev->scalar, k->scalar) == 0) {
                                schema_err(c, k, "duplicate key '%s' in %s (first at line %d)", k->scalar,
                                    where, prev->line);
                                break;
                        }
                }
                bool known = false;
                for (const char *const *a = allowed; *a && !known; a++)
                        known = strcmp(*a, k->scalar) == 0;
                if (known)
                        continue;
                bool is_planned = false;
                for (const char *const *p = planned; p && *p && !is_planned; p++)
                        is_planned = strcmp(*p, k->scalar) == 0;
                if (is_planned) {
                        schema_err(c, k, "'%s' in %s is not supported yet by this version", k->scalar, where);
                        continue;
                }
                const char *hint = suggest_near_miss(k->scalar, allowed);
                if (hint) {
                        schema_err(c, k, "unknown key '%s' in %s (did you mean '%s'?)", k->scalar, where, hint);
                        continue;
                }
                if (!*allowed) {
                        schema_err(c, k, "unknown key '%s': %s takes no options", k->scalar, where);
                        continue;
                }
                char valid[512] = "";
                size_t len = 0;
                for (const char *const *a = allowed; *a && len < sizeof valid; a++)
                        len += (size_t) snprintf(valid + len, sizeof valid - len, "%s%s", a == allowed ? "" : ", ", *a);
                schema_err(c, k, "unknown key '%s' in %s (valid: %s)", k->scalar, where, valid);
        }
}

const struct ynode *schema_get(const struct ynode *map, const char *key) {
        for (size_t i = 0; i < map->n; i++) {
                const struct ynode *k = ynode_key(map, i);
                if (k->type == YNODE_SCALAR && strcmp(k->scalar, key) == 0)
                        return ynode_value(map, i);
        }
        return NULL;
}

char *schema_strdup(struct schema_ctx *c, const struct ynode *n) {
        char *s = strdup(n->scalar);
        if (!s)
                schema_err(c, n, "out of memory");
        return s;
}

bool schema_duration(struct schema_ctx *c, const struct ynode *n, const char *what, usec_t *ret) {
        if (!schema_want(c, n, YNODE_SCALAR, what))
                return false;
        if (parse_duration(n->scalar, ret) < 0) {
                schema_err(c, n, "%s: '%s' is not a duration (a number with ms, s, m, h or d)", what, n->scalar);
                return false;
        }
        return true;
}

bool schema_unsigned(struct schema_ctx *c, const struct ynode *n, const char *what, unsigned min,
                         unsigned *ret) {
        if (!schema_want(c, n, YNODE_SCALAR, what))
                return false;
        unsigned v;
        if (parse_unsigned(n->scalar, &v) < 0 || v < min) {
                schema_err(c, n, "%s: '%s' is not a whole number%s", what, n->scalar, min ? " ≥ 1" : "");
                return false;
        }
        *ret = v;
        return true;
}

bool schema_bool(struct schema_ctx *c, const struct ynode *n, const char *what, bool *ret) {
        if (!schema_want(c, n, YNODE_SCALAR, what))
                return false;
        if (!n->quoted && (strcmp(n->scalar, "true") == 0 || strcmp(n->scalar, "yes") == 0))
                *ret = true;
        else if (!n->quoted && (strcmp(n->scalar, "false") == 0 || strcmp(n->scalar, "no") == 0))
                *ret = false;
        else {
                schema_err(c, n, "%s: '%s' is not true or false", what, n->scalar);
                return false;
        }
        return true;
}

bool schema_is_null(const struct ynode *n) {
        return n->type == YNODE_SCALAR && !n->quoted && (!*n->scalar || strcmp(n->scalar, "null") == 0);
}
