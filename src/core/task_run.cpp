#include "doit/task_run.h"

#include <stdexcept>

#include "doit/output.h"

namespace doit {
namespace {

const Json& member(const Json& json, std::string_view key, Json::Type type) {
  const Json* value = json.is_object() ? json.find(key) : nullptr;
  if (value == nullptr || value->type() != type) {
    throw std::invalid_argument("task run: bad or missing '" + std::string(key) + "'");
  }
  return *value;
}

std::string_view status_name(ActionOutcome::Status status) {
  switch (status) {
    case ActionOutcome::Status::kSuccess:
      return "success";
    case ActionOutcome::Status::kFailed:
      return "failed";
    case ActionOutcome::Status::kError:
      break;
  }
  return "error";
}

ActionOutcome::Status status_named(const std::string& name) {
  if (name == "success") return ActionOutcome::Status::kSuccess;
  if (name == "failed") return ActionOutcome::Status::kFailed;
  if (name == "error") return ActionOutcome::Status::kError;
  throw std::invalid_argument("task run: unknown status '" + name + "'");
}

}  // namespace

bool TaskRun::add(ActionOutcome outcome) {
  // Moved when nothing came before: a large output is not copied.
  if (out.empty()) {
    out = std::move(outcome.out);
  } else {
    out += outcome.out;
  }
  if (err.empty()) {
    err = std::move(outcome.err);
  } else {
    err += outcome.err;
  }
  if (outcome.status != ActionOutcome::Status::kSuccess) {
    outcome.out.clear();
    outcome.err.clear();
    failure = std::move(outcome);
    return false;
  }
  if (outcome.values && outcome.values->is_object()) {
    for (const auto& [k, v] : outcome.values->members()) values.set(k, v);
  }
  result = std::move(outcome.result);
  return true;
}

Json TaskRun::to_json() const {
  Json json =
      Json::object({{"out", Json::string(out)}, {"err", Json::string(err)}, {"values", values}});
  if (result) json.set("result", *result);
  if (failure) {
    json.set("failure",
             Json::object({{"status", Json::string(std::string(status_name(failure->status)))},
                           {"message", Json::string(failure->message)},
                           {"report", Json::boolean(failure->report)}}));
  }
  if (abort_message) json.set("abort", Json::string(*abort_message));
  return json;
}

TaskRun TaskRun::from_json(const Json& json) {
  TaskRun run;
  run.out = member(json, "out", Json::Type::kString).text();
  run.err = member(json, "err", Json::Type::kString).text();
  run.values = member(json, "values", Json::Type::kObject);
  if (const Json* result = json.find("result")) run.result = *result;
  if (json.find("failure") != nullptr) {
    const Json& f = member(json, "failure", Json::Type::kObject);
    ActionOutcome outcome;
    outcome.status = status_named(member(f, "status", Json::Type::kString).text());
    outcome.message = member(f, "message", Json::Type::kString).text();
    outcome.report = member(f, "report", Json::Type::kBool).as_bool();
    run.failure = std::move(outcome);
  }
  if (json.find("abort") != nullptr) {
    run.abort_message = member(json, "abort", Json::Type::kString).text();
  }
  return run;
}

void OutputBlock::out(std::string_view text) {
  if (!chunks_.empty() && !chunks_.back().first) {
    chunks_.back().second += text;
  } else {
    chunks_.emplace_back(false, std::string(text));
  }
}

void OutputBlock::err(std::string_view text) {
  if (!chunks_.empty() && chunks_.back().first) {
    chunks_.back().second += text;
  } else {
    chunks_.emplace_back(true, std::string(text));
  }
}

void OutputBlock::print() const {
  if (chunks_.empty()) return;
  for (const auto& [to_err, text] : chunks_) {
    // Keep the two streams in order: flush one before writing the other.
    Output& stream = to_err ? Output::err() : Output::out();
    stream.write(text);
    stream.flush();
  }
}

Json OutputBlock::to_json() const {
  Json::Array chunks;
  for (const auto& [to_err, text] : chunks_) {
    chunks.push_back(Json::array({Json::boolean(to_err), Json::string(text)}));
  }
  return Json::array(std::move(chunks));
}

OutputBlock OutputBlock::from_json(const Json& json) {
  if (json.type() != Json::Type::kArray) throw std::invalid_argument("output block: not a list");
  OutputBlock block;
  for (const Json& chunk : json.items()) {
    if (chunk.type() != Json::Type::kArray || chunk.items().size() != 2 ||
        chunk.items()[0].type() != Json::Type::kBool ||
        chunk.items()[1].type() != Json::Type::kString) {
      throw std::invalid_argument("output block: bad chunk");
    }
    block.chunks_.emplace_back(chunk.items()[0].as_bool(), chunk.items()[1].text());
  }
  return block;
}

}  // namespace doit
