// A reporter written in Python (SPEC §11): DOIT_CONFIG['reporter'] set to a
// class (built as Cls(outstream, {'failure_verbosity': N})) or an instance,
// usually a subclass of doit.reporter.ConsoleReporter. Only used when the
// dodo file configures one; the built-in reporters are C++.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "doit/graph.h"
#include "doit/output.h"
#include "doit/reporter.h"

namespace doit::python {

/// The reporter DOIT_CONFIG['reporter'] names, writing to `out` through a
/// file-like `outstream`; null when that entry is not a Python object (a
/// name, or absent). Errors raised by its methods become PythonTraceback.
std::unique_ptr<Reporter> make_config_reporter(Output& out, int failure_verbosity);

/// Calls the reporter's initialize(tasks, selected_tasks), as pydoit does
/// before running, if `reporter` is one of make_config_reporter's and the
/// Python object has that method.
void initialize_reporter(Reporter& reporter, const TaskGraph& graph,
                         const std::vector<std::string>& selected);

}  // namespace doit::python
