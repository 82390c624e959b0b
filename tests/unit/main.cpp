// The unit tests' main(). close_in_child() starts the running executable
// again to take descriptors over, so this one answers that call as doit's
// own main() does.
#include <optional>

#include <gtest/gtest.h>

#include "doit/process.h"

int main(int argc, char** argv) {
  if (const std::optional<int> closed = doit::run_as_closer(argc, argv)) return *closed;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
