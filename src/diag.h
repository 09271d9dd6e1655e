/* Diagnostics for rule and config files: every problem is collected with its
 * position and printed as FILE:LINE:COL: message, all of them in one pass. */
#pragma once

#include <stddef.h>
#include <stdio.h>

struct diag {
        char *file;
        int line, col;          /* 1-based */
        char *msg;
};

struct diags {
        struct diag *items;
        size_t n, cap;
};

void diags_add(struct diags *d, const char *file, int line, int col, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));
void diags_print(const struct diags *d, FILE *out);
void diags_free(struct diags *d);
