#include "suggest.h"

#include <string.h>

static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > 63 || lb > 63)
                return (size_t) -1;
        size_t prev[64], cur[64];
        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                cur[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
                        size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
                        cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
                }
                memcpy(prev, cur, (lb + 1) * sizeof *prev);
        }
        return prev[lb];
}

const char *suggest_near_miss(const char *word, const char *const *candidates) {
        const char *best = NULL;
        size_t best_d = 3;
        for (; *candidates; candidates++) {
                size_t d = edit_distance(word, *candidates);
                if (d < best_d && 2 * d < strlen(word) + 1) {
                        best = *candidates;
                        best_d = d;
                }
        }
        return best;
}
