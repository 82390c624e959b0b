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

Task::ExtrasBox::ExtrasBox(const ExtrasBox& other)
    : value(other.value ? std::make_unique<TaskExtras>(*other.value) : nullptr) {}

Task::ExtrasBox& Task::ExtrasBox::operator=(const ExtrasBox& other) {
  if (this != &other) value = other.value ? std::make_unique<TaskExtras>(*other.value) : nullptr;
  return *this;
}

const TaskExtras& Task::extras() const {
  static const TaskExtras kNone;
  return extras_.value ? *extras_.value : kNone;
}

TaskExtras& Task::set_extras() {
  if (!extras_.value) extras_.value = std::make_unique<TaskExtras>();
  return *extras_.value;
}

const OptionValue* Task::option(std::string_view name) const {
  for (const auto& [n, v] : extras().options) {
    if (n == name) return &v;
  }
  return nullptr;
}

std::string Task::title() const {
  const auto& title_fn = extras().title_fn;
  return title_fn ? title_fn->title(*this) : name;
}

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
  drop(clean);
  for (UptodateItem& item : uptodate) item.callable.reset();
  extension.reset();
  if (!extras_.value) return;
  TaskExtras& extras = *extras_.value;
  drop(extras.teardown);
  extras.title_fn.reset();
  for (ParamDef& param : extras.params) param.converter.reset();
  for (auto& option : extras.options) option.second.native.reset();
}

}  // namespace doit
