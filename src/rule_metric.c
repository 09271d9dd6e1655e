#include "rule_metric.h"

#include <errno.h>

#include "suggest.h"

static bool parse_named(struct schema_ctx *c, const struct ynode *n, enum metric *ret) {
        if (n->n != 1) {
                schema_err(c, n, "metric: one of dotnet, dotnet.events or dotnet.activity_ms_p99, as in "
                           "{dotnet: \"System.Runtime/cpu-usage\"}");
                return false;
        }
        const struct ynode *form_node = n->items[0], *key = n->items[1];
        enum metric_form form;
        if (metric_form_from_name(form_node->scalar, &form) < 0) {
                schema_err(c, form_node, "metric: '%s' is none of dotnet, dotnet.events, dotnet.activity_ms_p99",
                           form_node->scalar);
                return false;
        }
        if (!schema_want(c, key, YNODE_SCALAR, form_node->scalar))
                return false;
        int r = metric_name(form, key->scalar, ret);
        if (r == -EINVAL)
                schema_err(c, key, "%s: '%s' is not \"PROVIDER/NAME\" (letters, digits, '.', '_', '-'; the name may "
                           "hold '/')", form_node->scalar, key->scalar);
        else if (r == -ENOSPC)
                schema_err(c, key, "%s: '%s' is one named metric too many: a run takes %d of them (the names of "
                           "rules loaded earlier count too; a restart frees them)", form_node->scalar, key->scalar,
                           METRIC_NAMED_LAST - METRIC_NAMED_FIRST + 1);
        else if (r < 0)
                schema_err(c, key, "out of memory");
        return r >= 0;
}

bool rule_parse_metric(struct schema_ctx *c, const struct ynode *n, enum metric *ret) {
        if (n->type == YNODE_MAP)
                return parse_named(c, n, ret);
        if (!schema_want(c, n, YNODE_SCALAR, "metric"))
                return false;
        if (metric_from_name(n->scalar, ret) == 0)
                return true;
        const char *hint = suggest_near_miss(n->scalar, metric_names());
        if (hint)
                schema_err(c, n, "unknown metric '%s' (did you mean '%s'?)", n->scalar, hint);
        else
                schema_err(c, n, "unknown metric '%s'", n->scalar);
        return false;
}
