#pragma once

/* The candidate closest to `word` by edit distance, if close enough to be a
 * likely typo (distance ≤ 2, and less than half the word); else NULL.
 * `candidates` ends with NULL. */
const char *suggest_near_miss(const char *word, const char *const *candidates);
