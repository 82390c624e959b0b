// Did-you-mean for unknown names (as ninja's edit_distance): after pydoit's
// error text for an unknown task, target or command, the CLI prints on
// stderr the closest known name, if one is close enough.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "doit/graph.h"

namespace doit::cli {

/// Takes the graph of a session that ends: its task names and targets are
/// the names suggestion_for_error knows. It stays until the process ends,
/// left to the OS then (its tasks have let go of their Python objects).
void keep_names_of(std::unique_ptr<TaskGraph> graph);

/// For the error message of an unknown name ("Invalid parameter: \"x\"...",
/// "command `run` invalid parameter: \"x\"...", "'x' is not a task."): the
/// line "Did you mean \"y\"?\n" naming the closest command, task or target
/// (commands only where pydoit's message says a command was possible);
/// "" for any other message or when nothing is close.
std::string suggestion_for_error(const std::string& message);

}  // namespace doit::cli
