#ifndef COUNT_H
#define COUNT_H

/* What main prints after the count. */
#define COUNT_UNIT "word(s)"

/* The number of blank-separated words of `text`. */
int count_words(const char* text);

#endif
