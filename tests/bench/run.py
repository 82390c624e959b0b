#!/usr/bin/env python3
"""doit-cpp's benchmark: times doit-cpp, pydoit and ninja side by side on
the same generated projects (tests/bench/gen.py) and prints a Markdown table.

Each tool works in its own copy of a project. In every round each tool runs
each scenario once, in turn, so a machine that slows down slows all of them;
the table gives medians of the rounds and, for ratios, the median of the
per-round ratios. Every run is also checked: a no-op must rebuild nothing,
an edit exactly its cone, a full build every target. A wrong count or a
failing command makes the exit status 1.

Scenarios:
  noop     `doit` on an up-to-date project (ninja: `ninja`)
  incr     one source file edited (new content, same size), then `doit`
  list     `doit list --all` (ninja: `ninja -t targets all`)
  version  `doit --version` (ninja: `ninja --version`)
  full     from nothing: targets and state removed, then `doit -n JOBS`
           (ninja: `ninja -j JOBS`)

Example (the figures of docs/performance.md):
  tests/bench/run.py --doit build/release/doit --sizes 10000 --tools ninja,pydoit
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
PYDOIT = ["/usr/bin/python3", "-m", "doit"]


def tool_commands(tool, doit, jobs):
    """{scenario: argv} for a tool; None when the tool cannot do it."""
    if tool == "ninja":
        build = ["ninja", "-j", str(jobs)]
        return {"noop": build, "incr": build, "full": build,
                "list": ["ninja", "-t", "targets", "all"], "version": ["ninja", "--version"]}
    base = [doit] if tool == "doit-cpp" else PYDOIT
    build = base + ["run", "--db-file", ".doit.db"] + (["-n", str(jobs)] if jobs > 1 else [])
    return {"noop": build, "incr": build, "full": build,
            "list": base + ["list", "--all", "--db-file", ".doit.db"],
            "version": base + ["--version"]}


def timed(argv, cwd):
    """(wall s, cpu s, peak RSS MiB, exit status) of one run."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=null, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        sys.stderr.write("%s failed (%d) in %s:\n%s\n" % (" ".join(argv), proc.returncode, cwd,
                                                          err[-2000:]))
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode


def target_mtimes(root, facts):
    out = os.path.join(root, "out")
    return {name: os.stat(os.path.join(out, name)).st_mtime_ns
            for name in os.listdir(out) if name.endswith(".out")}


def project(workdir, n, k, shape, action):
    """The generated project (made once, reused while gen.py is the same)."""
    with open(os.path.join(HERE, "gen.py"), "rb") as f:
        stamp = "%08x" % zlib.crc32(f.read())
    root = os.path.join(workdir, "%s-%s-n%d-k%d" % (shape, action, n, k))
    if not os.path.exists(os.path.join(root, "bench.json." + stamp)):
        shutil.rmtree(root, ignore_errors=True)
        subprocess.run([sys.executable, os.path.join(HERE, "gen.py"), root, "--tasks", str(n),
                        "--deps", str(k), "--shape", shape, "--action", action],
                       check=True, stdout=subprocess.DEVNULL)
        open(os.path.join(root, "bench.json." + stamp), "w").close()
    with open(os.path.join(root, "bench.json")) as f:
        return root, json.load(f)


def copy_for(root, tool):
    """The tool's own copy, nothing built. The sources are copied, not
    hard-linked: a file with several names is one whose changes doit-cpp
    cannot follow through its folder (it stats it again after each action),
    and a real checkout has none."""
    dest = root + "." + tool
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(root, dest, ignore=shutil.ignore_patterns("out", ".doit.db*", ".ninja_*"))
    os.makedirs(os.path.join(dest, "out"))
    return dest


def clean(dest):
    shutil.rmtree(os.path.join(dest, "out"))
    os.makedirs(os.path.join(dest, "out"))
    for name in os.listdir(dest):
        if name.startswith(".doit.db") or name.startswith(".ninja_"):
            os.remove(os.path.join(dest, name))


def edit(dest, facts, round_no):
    """New content of the same size, a new mtime."""
    path = os.path.join(dest, facts["edit_file"])
    with open(path, "w") as f:
        f.write("e%d\n" % (round_no % 10))
    st = os.stat(path)
    os.utime(path, ns=(st.st_mtime_ns, time.time_ns()))


def run_cell(tools, doit, root, facts, scenario, reps, jobs, problems):
    """{tool: [(wall, cpu, rss)]} over `reps` rounds (after a warm-up)."""
    copies = {t: copy_for(root, t) for t in tools}
    commands = {t: tool_commands(t, doit, jobs) for t in tools}
    n = facts["tasks"]
    results = {t: [] for t in tools}
    for t in tools:  # warm-up: build, so that noop/incr start up to date
        timed(commands[t]["full"], copies[t])
    for r in range(reps):
        for t in tools:
            dest = copies[t]
            if scenario == "full":
                clean(dest)
            elif scenario == "incr":
                edit(dest, facts, r)
            before = target_mtimes(dest, facts)
            wall, cpu, rss, rc = timed(commands[t][scenario], dest)
            after = target_mtimes(dest, facts)
            rebuilt = sum(1 for k, v in after.items() if before.get(k) != v)
            want = {"full": n, "noop": 0, "incr": len(facts["edit_targets"])}.get(scenario)
            if rc != 0:
                problems.append("%s %s: exit %d" % (t, scenario, rc))
            elif want is not None and (rebuilt != want or len(after) != n):
                problems.append("%s %s N=%d: rebuilt %d of %d targets (want %d)"
                                % (t, scenario, n, rebuilt, len(after), want))
            results[t].append((wall, cpu, rss))
    for t in tools:
        shutil.rmtree(copies[t], ignore_errors=True)
    return results


def ratio(results, a, b):
    return statistics.median(x[0] / y[0] for x, y in zip(results[a], results[b]) if y[0] > 0)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--doit", required=True, help="the doit-cpp binary")
    p.add_argument("--tools", default="ninja,pydoit",
                   help="compared with doit-cpp: ninja, pydoit (comma-separated, may be empty)")
    p.add_argument("--sizes", default="10000", help="task counts, comma-separated")
    p.add_argument("--deps", type=int, default=10)
    p.add_argument("--shape", choices=("indep", "dag"), default="indep")
    p.add_argument("--action", choices=("cmd", "python"), default="cmd")
    p.add_argument("--scenarios", default="noop,incr,list,version")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--workdir", default="/tmp/doit-cpp-bench")
    a = p.parse_args(argv)

    doit = os.path.abspath(a.doit)
    tools = ["doit-cpp"] + [t for t in a.tools.split(",") if t]
    if a.action == "python" and "ninja" in tools:
        tools.remove("ninja")
    os.makedirs(a.workdir, exist_ok=True)
    problems = []
    print("| scenario | N | tool | median s | min–max s | CPU s | peak RSS MiB | "
          "doit-cpp × tool |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for n in [int(s) for s in a.sizes.split(",") if s]:
        root, facts = project(a.workdir, n, a.deps, a.shape, a.action)
        for scenario in [s for s in a.scenarios.split(",") if s]:
            res = run_cell(tools, doit, root, facts, scenario, a.reps, a.jobs, problems)
            for t in tools:
                walls = [x[0] for x in res[t]]
                rel = "" if t == "doit-cpp" else "%.2f" % ratio(res, "doit-cpp", t)
                print("| %s | %d | %s | %.3f | %.3f–%.3f | %.3f | %.1f | %s |" % (
                    scenario, n, t, statistics.median(walls), min(walls), max(walls),
                    statistics.median(x[1] for x in res[t]), max(x[2] for x in res[t]), rel))
            sys.stdout.flush()
    load = os.getloadavg()
    print("\n%s %s, %s, %d rounds, -j/-n %d, load average %.1f %.1f %.1f" % (
        a.shape, a.action, "K=%d" % a.deps, a.reps, a.jobs, *load))
    for problem in problems:
        print("PROBLEM: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
