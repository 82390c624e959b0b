#include <stdio.h>

#include "count.h"
#include "greet.h"

int main(int argc, char** argv) {
  const char* name = argc > 1 ? argv[1] : "world";
  greet(name);
  printf("%d " COUNT_UNIT " in the name\n", count_words(name));
  return 0;
}
