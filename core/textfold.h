/* textfold: UTF-8 text in Unicode lower case whatever the process's locale, so that a search finds "Müller" by
 * "MÜLLER" alike in the console's filters and in the journal's queries (SQLite's lower() folds ASCII only). */
#ifndef PORTIER_TEXTFOLD_H
#define PORTIER_TEXTFOLD_H

#include <stdbool.h>
#include <stddef.h>

/* The lower-case form of the n bytes at s into out (NUL-terminated, cut at a whole character when outcap is too
 * small). A byte that is not part of valid UTF-8 is kept as it is. Returns the bytes of the whole form (without the
 * NUL), which is at most textfold_max(n). */
size_t textfold(const char *s, size_t n, char *out, size_t outcap);
/* The most bytes the lower-case form of n bytes can take (a 2-byte letter may fold to a 3-byte one). */
size_t textfold_max(size_t n);
/* Case-insensitive substring and equality tests by that folding; NULL never matches. */
bool textfold_contains(const char *hay, const char *needle);
bool textfold_equal(const char *a, const char *b);

#endif
