#include "doit/task.h"

#include <algorithm>

#include "doit/text.h"

namespace doit {

std::string CmdAction::description() const {
  if (options_ && options_->source) return "Cmd: " + options_->source->repr();
  if (shell) return "Cmd: " + command;
  return "Cmd: " + python_list_repr(argv);
}

std::string Action::description() const {
  return is_cmd() ? cmd().description() : callable().description();
}

std::string OptionValue::text() const {
  if (text_override) return *text_override;
  if (native) return native->str();
  if (json) return python_str(*json);
  return "None";
}

const OptionValue* Task::option(std::string_view name) const {
  for (const auto& [n, v] : options) {
    if (n == name) return &v;
  }
  return nullptr;
}

std::string Task::title() const { return title_fn ? title_fn->title(*this) : name; }

const CmdOptions& CmdAction::options() const {
  static const CmdOptions kNone;
  return options_ ? *options_ : kNone;
}

CmdOptions& CmdAction::set_options() {
  if (!options_) {
    options_ = std::make_shared<CmdOptions>();
  } else if (options_.use_count() > 1) {
    options_ = std::make_shared<CmdOptions>(*options_);
  }
  return *options_;
}

void Task::drop_embedded_objects() {
  const auto drop = [](std::vector<Action>& list) {
    for (Action& action : list) {
      if (action.is_cmd()) {
        auto& cmd = std::get<CmdAction>(action.impl);
        if (cmd.options().source) cmd.set_options().source.reset();
      } else {
        action.impl = CmdAction{};
      }
    }
  };
  drop(actions);
  drop(teardown);
  drop(clean);
  for (UptodateItem& item : uptodate) item.callable.reset();
  title_fn.reset();
  for (ParamDef& param : params) param.converter.reset();
  for (auto& option : options) option.second.native.reset();
  extension.reset();
}

}  // namespace doit
