#include "cli/dodo_session.h"

#include "cli/did_you_mean.h"
#include "cli/task_options.h"

#include <fmt/format.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "doit/cmd_format.h"
#include "doit/text.h"
#include "python/adapters.h"
#include "python/pydoit_state.h"

namespace doit::cli {
namespace fs = std::filesystem;
namespace {

/// The dodo file per SPEC §2: -f/DOIT_FILE, -k/DOIT_SEEK_FILE.
std::string find_dodo(const OptionValues& opts) {
  const std::string name = opts.get_string("dodoFile", "dodo.py");
  const bool seek = opts.get_bool("seek_file");
  const fs::path given(name);
  if (seek && !given.is_absolute()) {
    for (fs::path dir = fs::current_path();; dir = dir.parent_path()) {
      const fs::path candidate = dir / given;
      std::error_code ec;
      if (fs::is_regular_file(candidate, ec)) return candidate.string();
      if (dir == dir.root_path()) break;
    }
    throw UserError(fmt::format(
        "Could not find dodo file '{}'.\nPlease use '-f' to specify file name.\n", name));
  }
  const fs::path full = fs::absolute(given).lexically_normal();
  std::error_code ec;
  if (!fs::is_regular_file(full, ec)) {
    throw UserError(fmt::format(
        "Could not find dodo file '{}'.\nPlease use '-f' to specify file name.\n", full.string()));
  }
  return full.string();
}

/// "0.37.0" or a list of parts → comparable numbers; non-numeric parts count as -1.
std::vector<long> version_parts(const std::vector<std::string>& parts) {
  std::vector<long> out;
  for (const std::string& p : parts) {
    try {
      size_t used = 0;
      const long n = std::stol(p, &used);
      out.push_back(used == p.size() ? n : -1);
    } catch (const std::exception&) {
      out.push_back(-1);
    }
  }
  return out;
}

void check_minversion(const python::ConfigMap& config) {
  auto it = config.find("minversion");
  if (it == config.end()) return;
  std::vector<std::string> parts;
  if (const auto* s = std::get_if<std::string>(&it->second.value)) {
    size_t start = 0;
    while (start <= s->size()) {
      size_t dot = s->find('.', start);
      if (dot == std::string::npos) dot = s->size();
      parts.push_back(s->substr(start, dot - start));
      start = dot + 1;
    }
  } else if (const auto* l = std::get_if<std::vector<std::string>>(&it->second.value)) {
    parts = *l;
  } else {
    return;
  }
  const std::vector<long> required = version_parts(parts);
  const std::vector<long> ours = {0, 37, 0};
  if (std::lexicographical_compare(ours.begin(), ours.end(), required.begin(), required.end())) {
    throw UserError(fmt::format(
        "Please update doit. Minimum version required is {}. You are using (0, 37, 0). ", [&] {
          std::string text;
          for (size_t i = 0; i < parts.size(); ++i) text += (i ? "." : "") + parts[i];
          return text;
        }()));
  }
}

/// DOIT_CONFIG entries become the config layer of the options they name.
void apply_config(const python::ConfigMap& config, const std::vector<OptionDef>& defs,
                  OptionValues& values) {
  for (const OptionDef& def : defs) {
    auto it = config.find(def.name);
    if (it == config.end()) continue;
    const auto& v = it->second.value;
    if (const bool* b = std::get_if<bool>(&v)) {
      values.set_config(def.name,
                        def.type == OptType::kInt ? Value(static_cast<long long>(*b)) : Value(*b));
    } else if (const long long* n = std::get_if<long long>(&v)) {
      values.set_config(def.name, def.type == OptType::kBool ? Value(*n != 0) : Value(*n));
    } else if (const std::string* s = std::get_if<std::string>(&v)) {
      if (def.type == OptType::kString || it->second.is_object) {
        values.set_config(def.name, *s);
      } else {
        values.set_config(def.name, convert_value(def, *s));
      }
    } else if (const auto* l = std::get_if<std::vector<std::string>>(&v)) {
      values.set_config(def.name, *l);
    }
  }
}

/// Values of @task_params creators: the words after the creator's name on
/// the command line, else its [task:NAME] config, else the defaults
/// (SPEC §5.7, §3.4).
python::CreatorArgs creator_arguments(const std::vector<std::string>& words,
                                      const ConfigFiles& files) {
  python::CreatorArgs args;
  for (auto& [creator, params] : python::creator_params()) {
    std::vector<std::pair<std::string, OptionValue>> values;
    for (ParamDef& p : params) values.emplace_back(p.name, p.converter->default_value());
    for (auto& [name, value] : task_config(files, creator, params)) {
      for (auto& [n, v] : values) {
        if (n == name) v = value;
      }
    }
    for (size_t i = 0; i < words.size(); ++i) {
      if (words[i] != creator) continue;
      const std::vector<std::string> rest(words.begin() + static_cast<long>(i) + 1, words.end());
      for (auto& [name, value] : parse_params(params, rest).values) {
        for (auto& [n, v] : values) {
          if (n == name) v = value;
        }
      }
    }
    args.emplace(creator, std::move(values));
  }
  return args;
}

}  // namespace

OptionValues command_options(const Invocation& inv, const Command& cmd, const Parsed& parsed,
                             const ConfigFiles& files) {
  OptionValues options;
  const std::vector<OptionDef> defs = all_options(cmd);
  apply_config_files(files, cmd.name, defs, options);
  for (const OptionDef& def : defs) {
    if (def.env_var.empty()) continue;
    if (const char* env = std::getenv(def.env_var.c_str()); env != nullptr) {
      try {
        options.set_explicit(def.name, convert_value(def, env));
      } catch (const ValueError& e) {
        throw UserError(e.what());
      }
    }
  }
  for (const auto& [name, value] : parsed.values) options.set_explicit(name, value);
  for (const auto& [name, value] : inv.early_options) options.set_explicit(name, value);
  return options;
}

OptionValues command_options(const Invocation& inv, const Command& cmd, const Parsed& parsed,
                             std::unique_ptr<python::Interpreter>* interpreter) {
  std::unique_ptr<python::Interpreter> for_toml;
  const ConfigFiles files = read_config_files(
      inv.initial_workdir, [&] { for_toml = std::make_unique<python::Interpreter>(inv.argv); });
  if (interpreter != nullptr) *interpreter = std::move(for_toml);
  return command_options(inv, cmd, parsed, files);
}

namespace {

DodoSession load_session(const Invocation& inv, const Command& cmd, const Parsed& parsed,
                         const python::PathSink& early_paths, bool check_graph) {
  DodoSession session;
  const std::vector<OptionDef> defs = all_options(cmd);
  // Config files are read from the start-up folder (SPEC §1.2), before the
  // dodo file is looked for: they may name it.
  session.config_files = read_config_files(inv.initial_workdir, [&] {
    session.interpreter = std::make_unique<python::Interpreter>(inv.argv);
  });
  session.options = command_options(inv, cmd, parsed, session.config_files);

  session.dodo_path = find_dodo(session.options);
  const std::string dir_opt = session.options.get_string("cwdPath");
  fs::path workdir = fs::path(session.dodo_path).parent_path();
  if (!dir_opt.empty()) {
    std::error_code ec;
    if (!fs::is_directory(dir_opt, ec)) {
      throw UserError(fmt::format("Specified 'dir' path must be a directory.\nGot '{}'({}).",
                                  dir_opt, fs::absolute(dir_opt).string()));
    }
    workdir = dir_opt;
  }
  if (::chdir(workdir.c_str()) != 0) {
    throw UserError(fmt::format("Cannot change into '{}'.", workdir.string()));
  }

  if (!session.interpreter) session.interpreter = std::make_unique<python::Interpreter>(inv.argv);
  python::request_post_mortem(session.options.get_bool("pdb"));
  python::set_command_line_vars(inv.vars, inv.initial_workdir);
  python::LoadedDodo loaded;
  try {
    python::import_dodo(session.dodo_path);
    loaded = python::create_tasks(cmd.name, creator_arguments(parsed.rest, session.config_files),
                                  early_paths);
  } catch (const python::DodoError& e) {
    throw UserError(e.what());
  }
  session.config = std::move(loaded.config);
  check_minversion(session.config);
  if (auto it = session.config.find("action_string_formatting"); it != session.config.end()) {
    const auto* s = std::get_if<std::string>(&it->second.value);
    FormatStyle style;
    if (s == nullptr || !parse_format_style(*s, &style)) {
      throw UserError("`action_string_formatting` must be one of `old`, `both`, `new`");
    }
  }
  for (const Task& task : loaded.tasks) {
    if (find_command(task.name) != nullptr && !is_extension_command(task.name)) {
      throw UserError(fmt::format(
          "Task can't be called '{}' because this is a command name. Please choose another name.",
          task.name));
    }
  }
  apply_config(session.config, defs, session.options);
  try {
    session.graph =
        check_graph ? std::make_unique<TaskGraph>(std::move(loaded.tasks))
                    : std::make_unique<TaskGraph>(std::move(loaded.tasks), TaskGraph::Unchecked{});
  } catch (const GraphError& e) {
    throw UserError(e.what());
  }
  apply_task_config(session.config_files, *session.graph);
  return session;
}

}  // namespace

DodoSession open_dodo(const Invocation& inv, const Command& cmd, const Parsed& parsed,
                      const python::PathSink& early_paths) {
  return load_session(inv, cmd, parsed, early_paths, /*check_graph=*/true);
}

DodoSession open_dodo_unchecked(const Invocation& inv, const Command& cmd, const Parsed& parsed) {
  return load_session(inv, cmd, parsed, {}, /*check_graph=*/false);
}

DodoSession::~DodoSession() {
  if (!graph) return;
  if (python::python_objects_held()) {
    for (size_t i = 0; i < graph->tasks().size(); ++i) {
      graph->task(static_cast<int>(i)).drop_embedded_objects();
    }
  }
  keep_names_of(std::move(graph));
}

void leave_to_exit(std::shared_ptr<void> object) {
  static auto* const left = new std::vector<std::shared_ptr<void>>();
  left->push_back(std::move(object));
}

std::vector<Task> SessionDelayedCreator::create(const std::string& creator,
                                                const std::string& base) {
  std::vector<Task> tasks = python_.create(creator, base);
  for (Task& task : tasks) {
    for (auto& [name, value] :
         task_config(session_.config_files, task.name, task.extras().params)) {
      set_option(task, name, std::move(value));
    }
  }
  return tasks;
}

namespace {

/// Switching from pydoit: imports its state once, says so on stderr.
void import_from_pydoit(const python::PydoitState& found) {
  try {
    const python::PydoitImport done = python::import_pydoit_state(found);
    fmt::print(stderr, "doit-cpp: imported the state of {} task{} from pydoit's {} (kept as {})\n",
               done.tasks, done.tasks == 1 ? "" : "s", join(done.moved_from, ", "),
               join(done.moved_to, ", "));
    std::fflush(stderr);
  } catch (const python::PydoitStateError& e) {
    throw UserError(e.what());
  }
}

}  // namespace

std::unique_ptr<StateDb> read_from_pydoit(const python::PydoitState& found) {
  try {
    python::PydoitRead read = python::read_pydoit_state(found);
    fmt::print(stderr,
               "doit-cpp: read the state of {} task{} from pydoit's {} as it is (not imported "
               "yet: the first command that writes the state imports it)\n",
               read.tasks, read.tasks == 1 ? "" : "s", join(found.files, ", "));
    std::fflush(stderr);
    return std::move(read.db);
  } catch (const python::PydoitStateError& e) {
    throw UserError(e.what());
  }
}

std::unique_ptr<StateDb> open_state(const DodoSession& session, StateAccess access) {
  const std::string path = session.options.get_string("dep_file", ".doit.db");
  const bool reading = access == StateAccess::kRead;
  try {
    // A missing dep_file: pydoit's dbm.dumb/dbm.ndbm files may sit beside it.
    // An existing one is asked about only when StateDb refuses it (below):
    // our own database, the usual case, is opened without calling Python.
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(path, ec))) {
      if (auto found = python::find_pydoit_state(path)) {
        if (reading) return read_from_pydoit(*found);
        import_from_pydoit(*found);
      }
    }
    try {
      return reading ? StateDb::open_for_reading(path) : StateDb::open(path);
    } catch (const StateDbError&) {
      // Not ours: pydoit's (dbm.gnu, json, sqlite3)? Read it where it is,
      // or import it and open again.
      auto found = python::find_pydoit_state(path);
      if (!found) throw;
      if (reading) return read_from_pydoit(*found);
      import_from_pydoit(*found);
      return StateDb::open(path);
    }
  } catch (const StateDbError& e) {
    throw UserError(e.what());
  }
}

std::optional<std::vector<std::string>> default_tasks(const DodoSession& session) {
  auto it = session.config.find("default_tasks");
  if (it == session.config.end()) return std::nullopt;
  if (const auto* l = std::get_if<std::vector<std::string>>(&it->second.value)) return *l;
  return std::nullopt;
}

}  // namespace doit::cli
