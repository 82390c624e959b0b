#ifndef GREET_H
#define GREET_H

/* Prints "Hello, NAME!" on its own line. */
void greet(const char* name);

#endif
