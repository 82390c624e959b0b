// `doit tabcompletion` (SPEC §4.11): writes a bash or zsh completion script
// for the commands, their options, tasks and sub-tasks.
//
// The bash script works with or without the bash-completion package: it
// uses `_get_comp_words_by_ref` when defined, else rebuilds the words from
// COMP_WORDS itself (joining the pieces bash splits at ':'), and trims
// `base:` from sub-task candidates as `__ltrim_colon_completions` would.
// Tasks come from `BIN list --quiet` when completing (or, with
// --hardcode-tasks, from the dodo file now); sub-tasks always from
// `BIN list --quiet --all BASE`.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "cli/dodo_session.h"
#include "doit/output.h"
#include "doit/text.h"

namespace doit::cli {
namespace {

/// A shell function name made of `bin`: `_` then its letters, digits and `_`.
std::string function_name(const std::string& bin) {
  std::string out = "_";
  for (char c : bin) out += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
  return out;
}

/// Every option word of `cmd` (`-f`, `--file`...), sorted.
std::vector<std::string> option_words(const Command& cmd) {
  std::vector<std::string> words;
  for (const OptionDef& d : all_options(cmd)) {
    if (d.hidden) continue;
    if (d.short_name != 0) words.push_back(std::string("-") + d.short_name);
    if (!d.long_name.empty()) words.push_back("--" + d.long_name);
    if (!d.inverse.empty()) words.push_back("--" + d.inverse);
  }
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return words;
}

constexpr const char* kBashTemplate =
    R"SH(# bash completion for {bin}, written by `{bin} tabcompletion`.
# Load it in a shell:  source <this file>
# or install it:       {bin} tabcompletion > /etc/bash_completion.d/{bin}

{fn}_words()
{{
    # Sets cur, prev, words and cword, with "base:sub" kept as one word.
    if declare -F _get_comp_words_by_ref >/dev/null; then
        _get_comp_words_by_ref -n : cur prev words cword
        return
    fi
    local j w
    words=()
    for (( j=0; j <= COMP_CWORD; j++ )); do
        w="${{COMP_WORDS[j]}}"
        if (( ${{#words[@]}} > 1 )) && [[ "$w" == ":" || "${{words[-1]}}" == *: ]] \
               && [[ "$w" == ":" || -n "$w" ]]; then
            words[-1]+="$w"
        else
            words+=("$w")
        fi
    done
    cword=$(( ${{#words[@]}} - 1 ))
    cur="${{words[cword]}}"
    prev=""
    (( cword > 0 )) && prev="${{words[cword-1]}}"
}}

{fn}()
{{
    local cur prev words cword i first dodof base tasks commands options
    COMPREPLY=()
    {fn}_words
    commands="{commands}"

    # options whose value is a file or a folder
    case "$prev" in
        -f|-d|-o|--file|--dir|--output-file|--db-file)
            COMPREPLY=( $(compgen -f -- "$cur") )
            return 0
            ;;
    esac
    case "$cur" in
        --file=*|--dir=*|--output-file=*|--db-file=*)
            COMPREPLY=( $(compgen -f -- "${{cur#*=}}") )
            return 0
            ;;
    esac

    # the dodo file the tasks come from
    dodof="dodo.py"
    for (( i=1; i < cword; i++ )); do
        case "${{words[i]}}" in
            -f|--file) dodof="${{words[i+1]}}" ;;
            --file=*) dodof="${{words[i]#*=}}" ;;
        esac
    done
    # the command (or first task) comes after any loader options
    first=1
    while (( first < cword )) && [[ "${{words[first]}}" == -* ]]; do
        case "${{words[first]}}" in
            -f|-d|--file|--dir) (( first++ )) ;;
        esac
        (( first++ ))
    done

    # sub-tasks: "base:" then the names of base's sub-tasks
    if [[ "$cur" == *:* ]]; then
        base="${{cur%%:*}}"
        tasks=$({bin} list --file="$dodof" --quiet --all "$base" 2>/dev/null)
        COMPREPLY=( $(compgen -W "$tasks" -- "$cur") )
        if [[ "$COMP_WORDBREAKS" == *:* ]]; then
            # bash replaces only the text after the last ':'
            local prefix="${{cur%:*}}:" k
            for k in "${{!COMPREPLY[@]}}"; do
                COMPREPLY[k]="${{COMPREPLY[k]#"$prefix"}}"
            done
        fi
        return 0
    fi

    tasks={tasks}

    # options of the command (or of `run`, when the first word is a task)
    if [[ "$cur" == -* ]]; then
        case "${{words[first]}}" in
{option_cases}
        esac
        COMPREPLY=( $(compgen -W "$options" -- "$cur") )
        return 0
    fi

    # first word: a command or a task
    if (( cword == first )); then
        COMPREPLY=( $(compgen -W "$commands $tasks" -- "$cur") )
        return 0
    fi

    # after a command: what it takes
    case "${{words[first]}}" in
{argument_cases}
    esac

    # after a task: more tasks
    COMPREPLY=( $(compgen -W "$tasks" -- "$cur") )
    return 0
}}
complete -o filenames -F {fn} {bin}
)SH";

std::string bash_script(const std::string& bin, const std::vector<std::string>* hardcoded) {
  std::vector<std::string> names;
  std::string option_cases, argument_cases;
  for (const Command& cmd : commands()) {
    names.push_back(cmd.name);
    option_cases += fmt::format("            {}) options={} ;;\n", cmd.name,
                                shell_quoted(join(option_words(cmd), " ")));
    std::vector<std::string> words;
    if (cmd.usage.find("TASK") != std::string::npos) words.push_back("$tasks");
    if (cmd.usage.find("COMMAND") != std::string::npos) words.push_back("$commands");
    const std::string completion = words.empty() ? "-f" : "-W \"" + join(words, " ") + "\"";
    argument_cases += fmt::format(
        "        {})\n            COMPREPLY=( $(compgen {} -- \"$cur\") )\n            return 0\n"
        "            ;;\n",
        cmd.name, completion);
  }
  option_cases += fmt::format("            *) options={} ;;",
                              shell_quoted(join(option_words(*find_command("run")), " ")));
  argument_cases.pop_back();
  const std::string tasks = hardcoded ? shell_quoted(join(*hardcoded, " "))
                                      : "$(" + bin + " list --file=\"$dodof\" --quiet 2>/dev/null)";
  return fmt::format(kBashTemplate, fmt::arg("bin", bin), fmt::arg("fn", function_name(bin)),
                     fmt::arg("commands", join(names, " ")), fmt::arg("tasks", tasks),
                     fmt::arg("option_cases", option_cases),
                     fmt::arg("argument_cases", argument_cases));
}

/// Text for an `_arguments` spec, on one line, with a backslash before `\\`
/// and each of `specials` (`]` ends a description, `:` a message).
std::string zsh_escaped(const std::string& text, std::string_view specials) {
  std::string out;
  for (char c : text) {
    if (c == '\n') {
      out += ' ';
      continue;
    }
    if (c == '\\' || specials.find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

std::string zsh_description(const std::string& text) { return zsh_escaped(text, "[]"); }

/// The `_arguments` specs of `cmd`'s options, one per line.
std::vector<std::string> zsh_option_specs(const Command& cmd) {
  std::vector<std::string> specs;
  for (const OptionDef& d : all_options(cmd)) {
    if (d.hidden) continue;
    const std::string help = zsh_description(d.help);
    // an option that takes a value: `=` or a separate word, then the value
    std::string value;
    if (d.type != OptType::kBool) {
      const bool file = d.name == "dodoFile" || d.name == "cwdPath" || d.name == "outfile" ||
                        d.name == "dep_file";
      value = fmt::format(":{}:{}", zsh_escaped(d.metavar, ":"), file ? "_files" : " ");
    }
    if (d.short_name != 0 && !d.long_name.empty()) {
      const std::string s = std::string("-") + d.short_name, l = "--" + d.long_name;
      specs.push_back(shell_quoted("(" + s + " " + l + ")") + "{" + s + "," + l +
                      (d.type != OptType::kBool ? "=" : "") + "}" +
                      shell_quoted("[" + help + "]" + value));
    } else if (!d.long_name.empty()) {
      specs.push_back(shell_quoted("--" + d.long_name + (d.type != OptType::kBool ? "=" : "") +
                                   "[" + help + "]" + value));
    } else if (d.short_name != 0) {
      specs.push_back(shell_quoted(std::string("-") + d.short_name + "[" + help + "]" + value));
    }
    if (!d.inverse.empty()) specs.push_back(shell_quoted("--" + d.inverse + "[" + help + "]"));
  }
  if (cmd.usage.find("TASK") != std::string::npos) specs.push_back("'*::task:(($tasks))'");
  if (cmd.usage.find("COMMAND") != std::string::npos) specs.push_back("'::cmd:(($commands))'");
  return specs;
}

constexpr const char* kZshTemplate = R"SH(#compdef {bin}
# zsh completion for {bin}, written by `{bin} tabcompletion --shell zsh`.
# Install it as a file named _{bin} in a folder of $fpath.

{fn}() {{
    local -a commands tasks _command_args
    # 'name:description'
    commands=(
{commands}
    )
    tasks={tasks}

    # first word: a command or a task
    if (( CURRENT == 2 )); then
        _arguments -A : '::cmd:(($commands))' '::task:(($tasks))'
        return
    fi

    # drop the program name from $words, then complete by command
    local curcontext="$curcontext" state state_desc line
    _arguments -C '*:: :->args'

    case "$words[1]" in
{cases}
        (*)
            _command_args=('*::task:(($tasks))')
            ;;
    esac
    _arguments -A : $_command_args
}}

{fn} "$@"
)SH";

std::string zsh_task_entry(const Task& t) {
  return shell_quoted(zsh_escaped(t.name, ":") + ":" + zsh_escaped(t.doc, ""));
}

std::string zsh_script(const std::string& bin, const std::vector<std::string>* hardcoded_entries) {
  std::vector<std::string> descriptions;
  std::string cases;
  for (const Command& cmd : commands()) {
    descriptions.push_back("        " + shell_quoted(cmd.name + ":" + cmd.purpose));
    cases += fmt::format("        ({})\n            _command_args=(\n", cmd.name);
    for (const std::string& spec : zsh_option_specs(cmd)) {
      cases += "                " + spec + "\n";
    }
    cases += "            )\n            ;;\n";
  }
  cases.pop_back();
  std::string tasks;
  if (hardcoded_entries != nullptr) {
    tasks = "(\n";
    for (const std::string& e : *hardcoded_entries) tasks += "        " + e + "\n";
    tasks += "    )";
  } else {
    tasks = "(\"${(f)$(" + bin + " list --template '{name}:{doc}' 2>/dev/null)}\")";
  }
  return fmt::format(kZshTemplate, fmt::arg("bin", bin), fmt::arg("fn", function_name(bin)),
                     fmt::arg("commands", join(descriptions, "\n")), fmt::arg("tasks", tasks),
                     fmt::arg("cases", cases));
}

}  // namespace

std::string tabcompletion_description() {
  return "Writes a completion script to stdout. Without --hardcode-tasks the script\n"
         "asks `list` for the tasks each time it completes; with it, the tasks of the\n"
         "dodo file now are written into the script. Sub-tasks (after `base:`) are\n"
         "always asked for.\n"
         "\n"
         "bash: source the script, or put it in /etc/bash_completion.d/.\n"
         "zsh:  save it as `_doit` in a folder of $fpath.";
}

int execute_tabcompletion(const Invocation& inv, const Parsed& parsed) {
  const Command& cmd = *find_command("tabcompletion");
  // With --hardcode-tasks the dodo file is loaded (which reads the options
  // too); without it only the options are read.
  std::optional<DodoSession> session;
  OptionValues opts = command_options(inv, cmd, parsed, ConfigFiles{});
  if (opts.get_bool("hardcode_tasks")) {
    session.emplace(open_dodo(inv, cmd, parsed));
    opts = session->options;
  } else {
    opts = command_options(inv, cmd, parsed);
  }
  const std::string shell = opts.get_string("shell", "bash");
  if (shell != "bash" && shell != "zsh") {
    throw UserError(fmt::format("Invalid option for --shell \"{}\"", shell));
  }
  std::string script;
  if (shell == "bash") {
    std::vector<std::string> tasks;
    if (session) {
      for (const Task& t : session->graph->tasks()) {
        if (t.subtask_of.empty()) tasks.push_back(t.name);
      }
      std::sort(tasks.begin(), tasks.end());
    }
    script = bash_script(inv.bin, session ? &tasks : nullptr);
  } else {
    std::vector<std::string> entries;
    if (session) {
      for (const Task& t : session->graph->tasks()) {
        if (t.subtask_of.empty()) entries.push_back(zsh_task_entry(t));
      }
      std::sort(entries.begin(), entries.end());
    }
    script = zsh_script(inv.bin, session ? &entries : nullptr);
  }
  Output::out().write(script);
  return 0;
}

}  // namespace doit::cli
