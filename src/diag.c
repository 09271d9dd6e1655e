#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diags_add(struct diags *d, const char *file, int line, int col, const char *fmt, ...) {
        if (d->n == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 8;
                struct diag *n = realloc(d->items, cap * sizeof *n);
                if (!n)
                        abort();        /* out of memory while reporting: nothing sane left */
                d->items = n;
                d->cap = cap;
        }
        va_list ap;
        va_start(ap, fmt);
        char *msg = NULL;
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        char *copy = strdup(file);
        if (!copy)
                abort();
        d->items[d->n++] = (struct diag) { copy, line, col, msg };
}

void diags_print(const struct diags *d, FILE *out) {
        for (size_t i = 0; i < d->n; i++)
                fprintf(out, "%s:%d:%d: %s\n", d->items[i].file, d->items[i].line,
                        d->items[i].col, d->items[i].msg);
}

void diags_free(struct diags *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].msg);
        }
        free(d->items);
        *d = (struct diags) {};
}
