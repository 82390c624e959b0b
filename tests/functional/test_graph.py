"""`doit graph` (issue #9): the task graph as Graphviz DOT or Mermaid.

The DOT text is read back by Graphviz itself (`dot -Tjson0`, the parser of
the tool users render with) and rendered to SVG with the real `dot`; the
Mermaid text is read with a small parser of the flowchart subset it uses.
pydoit has no graph command: cpp_only.
"""

import json
import re
import shutil
import subprocess

import pytest

pytestmark = pytest.mark.cpp_only

DOT = shutil.which("dot")
needs_dot = pytest.mark.skipif(DOT is None, reason="graphviz (dot) is not installed")

DODO = '''
from doit import create_after

def task_compile():
    """compile each source"""
    for src in ['a', 'b']:
        yield {'name': src, 'actions': ['cp %s.c %s.o' % (src, src)],
               'file_dep': [src + '.c'], 'targets': [src + '.o']}

def task_prepare():
    return {'actions': ['echo prepared']}

def task_link():
    return {'actions': ['cat a.o b.o > app'], 'file_dep': ['a.o', 'b.o'],
            'targets': ['app'], 'setup': ['prepare']}

def task_docs():
    return {'actions': ['echo docs'], 'file_dep': ['a.c']}

def task_lint():
    return {'actions': ['echo lint'], 'file_dep': ['missing.c']}

def task_version():
    return {'actions': [lambda: {'v': '1'}]}

def task_stamp():
    return {'actions': ['echo %(v)s'], 'getargs': {'v': ('version', 'v')},
            'task_dep': ['docs']}

@create_after(executed='compile')
def task_later():
    yield {'name': 'x', 'actions': ['echo x']}
'''


@pytest.fixture
def proj(project):
    """compile:a and compile:b up to date, docs ignored, the rest not run."""
    project.dodo(DODO)
    project.write("a.c", "int a;\n")
    project.write("b.c", "int b;\n")
    r = project.run("run", "compile")
    assert r.rc == 0, r
    r = project.run("ignore", "docs")
    assert r.rc == 0, r
    return project


def dot_json(text):
    """Graphviz's own reading of DOT `text`: {nodes, clusters, edges}."""
    proc = subprocess.run([DOT, "-Tjson0"], input=text, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    g = json.loads(proc.stdout)
    objects = g.get("objects", [])
    nodes = {o["name"]: o for o in objects if "nodes" not in o and "edges" not in o
             and not o["name"].startswith("cluster_")}
    by_id = {o["_gvid"]: o["name"] for o in objects}
    clusters = {o["label"]: sorted(by_id[i] for i in o.get("nodes", []))
                for o in objects if o["name"].startswith("cluster_")}
    edges = {}
    for e in g.get("edges", []):
        key = (by_id[e["tail"]], by_id[e["head"]])
        assert key not in edges, f"two edges {key}"
        edges[key] = e
    return nodes, clusters, edges


@needs_dot
def test_dot_has_every_task_with_its_status(proj):
    r = proj.run("graph")
    assert (r.rc, r.err) == (0, ""), r
    assert r.out.startswith("digraph doit {\n")
    nodes, _, _ = dot_json(r.out)
    status = {name: n["tooltip"] for name, n in nodes.items()}
    assert status == {
        "compile": "will run",  # a group task has no dependencies of its own
        "compile:a": "up to date",
        "compile:b": "up to date",
        "prepare": "will run",
        "link": "will run",
        "docs": "ignored",
        "lint": "error",  # its file_dep is missing
        "version": "will run",
        "stamp": "will run",
        "later": "delayed",
    }
    assert "filled" in nodes["compile:a"]["style"]
    assert nodes["compile:a"]["fillcolor"] != nodes["link"]["fillcolor"]
    assert "dashed" in nodes["docs"]["style"]
    assert nodes["later"]["style"] == "dotted"
    assert nodes["later"]["label"] == "later\\n(delayed)"


@needs_dot
def test_dot_groups_subtasks_in_a_cluster(proj):
    r = proj.run("graph")
    _, clusters, _ = dot_json(r.out)
    assert clusters == {"compile": ["compile", "compile:a", "compile:b"]}


@needs_dot
def test_dot_edges_for_task_dep_file_dep_setup_and_getargs(proj):
    r = proj.run("graph")
    _, _, edges = dot_json(r.out)
    assert set(edges) == {
        ("compile:a", "compile"),  # the group needs its sub-tasks
        ("compile:b", "compile"),
        ("compile:a", "link"),  # link's file_dep a.o is compile:a's target
        ("compile:b", "link"),
        ("prepare", "link"),
        ("docs", "stamp"),
        ("version", "stamp"),
        ("compile", "later"),  # a delayed creator waits for its `executed` task
    }
    assert edges[("compile:a", "link")]["label"] == "a.o"
    assert edges[("compile:b", "link")]["label"] == "b.o"
    assert "style" not in edges[("compile:a", "link")]
    assert edges[("prepare", "link")]["style"] == "dashed"
    assert edges[("version", "stamp")]["style"] == "dotted"
    assert "style" not in edges[("docs", "stamp")]


@needs_dot
def test_dot_of_named_tasks_has_only_what_they_need(proj):
    r = proj.run("graph", "link")
    assert (r.rc, r.err) == (0, ""), r
    nodes, clusters, edges = dot_json(r.out)
    assert set(nodes) == {"link", "compile:a", "compile:b", "prepare"}
    # the sub-tasks keep their group's box, without the group task itself
    assert clusters == {"compile": ["compile:a", "compile:b"]}
    assert set(edges) == {("compile:a", "link"), ("compile:b", "link"), ("prepare", "link")}


@needs_dot
def test_status_follows_the_files(proj):
    proj.write("a.c", "int a = 2;\n")
    r = proj.run("graph", "compile")
    nodes, _, _ = dot_json(r.out)
    assert nodes["compile:a"]["tooltip"] == "will run"
    assert nodes["compile:b"]["tooltip"] == "up to date"
    r = proj.run("list", "--all", "--status", "compile")
    assert "R compile:a" in r.out and "U compile:b" in r.out


@needs_dot
def test_dot_renders_to_svg(proj, tmp_path):
    r = proj.run("graph", "-o", tmp_path / "graph.dot")
    assert (r.rc, r.out, r.err) == (0, "", ""), r
    svg = tmp_path / "graph.svg"
    proc = subprocess.run([DOT, "-Tsvg", str(tmp_path / "graph.dot"), "-o", str(svg)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    text = svg.read_text()
    assert text.lstrip().startswith("<?xml")
    for name in ("compile:a", "link", "later"):
        assert f"<title>{name}</title>" in text
    assert 'xlink:title="up to date"' in text


def test_output_is_relative_to_where_doit_started(proj):
    (proj.path / "sub").mkdir()
    proj.write("sub/keep", "")
    r = proj.run("-k", "graph", "-o", "out.dot", cwd="sub")
    assert r.rc == 0, r
    assert proj.read("sub/out.dot").startswith("digraph doit {")
    assert not proj.exists("out.dot")


def test_unknown_task_is_an_error(proj):
    r = proj.run("graph", "lnik")
    assert r.rc == 3
    assert r.out == ""
    assert r.err == "ERROR: 'lnik' is not a task.\nDid you mean \"link\"?\n"


def test_names_with_quotes_are_escaped(project):
    project.dodo('''
        def task_q():
            return {'actions': ['echo'], 'targets': ['say "hi" <a|b> #1\\\\.txt']}
        def task_r():
            return {'actions': ['echo'], 'file_dep': ['say "hi" <a|b> #1\\\\.txt']}
    ''')
    r = project.run("graph")
    assert r.rc == 0, r
    if DOT:
        _, _, edges = dot_json(r.out)
        assert edges[("q", "r")]["label"] == 'say "hi" <a|b> #1\\\\.txt'
    r = project.run("graph", "--format", "mermaid")
    assert '-->|"say #quot;hi#quot; #lt;a#124;b#gt; #35;1\\.txt"|' in r.out


def test_graph_runs_nothing_and_writes_no_file(proj):
    before = sorted(p.name for p in proj.path.iterdir())
    r = proj.run("graph")
    assert r.rc == 0
    assert sorted(p.name for p in proj.path.iterdir()) == before
    assert not proj.exists("app")


MERMAID_NODE = re.compile(r'^\s*(t\d+)(\[\[?)"(.*)"(\]\]?):::(\w+)$')
MERMAID_EDGE = re.compile(r'^\s*(t\d+) (-->|-\.->)(?:\|"?([^|"]*)"?\|)? (t\d+)$')


def mermaid(text):
    """(nodes {name: (class, is_group, note)}, subgraphs {label: [names]}, edges {(a, b): (arrow, label)})."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    names, nodes, subgraphs, edges = {}, {}, {}, {}
    current = None
    for line in lines[1:]:
        if line.strip().startswith("classDef "):
            continue
        m = re.match(r'^\s*subgraph (\w+)\["(.*)"\]$', line)
        if m:
            current = subgraphs.setdefault(m.group(2), [])
            continue
        if line.strip() == "end":
            current = None
            continue
        m = MERMAID_NODE.match(line)
        if m:
            name, _, note = m.group(3).partition("<br>")
            names[m.group(1)] = name
            nodes[name] = (m.group(5), m.group(2) == "[[", note)
            if current is not None:
                current.append(name)
            continue
        m = MERMAID_EDGE.match(line)
        assert m, f"unexpected Mermaid line: {line!r}"
        key = (names[m.group(1)], names[m.group(4)])
        assert key not in edges, f"two edges {key}"
        edges[key] = (m.group(2), m.group(3))
    return nodes, subgraphs, edges


def test_mermaid_structure(proj):
    r = proj.run("graph", "--format", "mermaid")
    assert (r.rc, r.err) == (0, ""), r
    nodes, subgraphs, edges = mermaid(r.out)
    assert nodes["compile:a"] == ("uptodate", False, "")
    assert nodes["compile"] == ("run", True, "")
    assert nodes["docs"][0] == "ignored"
    assert nodes["lint"][0] == "error"
    assert nodes["later"] == ("delayed", False, "(delayed)")
    assert subgraphs == {"compile": ["compile", "compile:a", "compile:b"]}
    assert edges[("compile:a", "link")] == ("-->", "a.o")
    assert edges[("prepare", "link")] == ("-.->", "setup")
    assert edges[("version", "stamp")] == ("-.->", "getargs")
    assert edges[("docs", "stamp")] == ("-->", None)
    for cls in ("uptodate", "run", "ignored", "error", "delayed"):
        assert re.search(rf"^  classDef {cls} ", r.out, re.M)


def test_unknown_format_is_rejected(proj):
    r = proj.run("graph", "--format", "png")
    assert r.rc == 3
    assert r.out == ""
    assert "png" in r.err


def test_a_task_named_graph_still_loads(project):
    project.dodo('''
        def task_graph():
            return {'actions': ['echo graphing']}
    ''')
    r = project.run("run", "graph")
    assert r.rc == 0, r
    assert r.out == ".  graph\n"
    r = project.run("graph")
    assert r.rc == 0
    assert r.out.startswith("digraph doit {")
    assert "doit run graph" in r.err


def test_help_graph_documents_the_command(project):
    r = project.run("help", "graph")
    assert r.rc == 0
    for word in ("--format", "-o", "--output", "mermaid", "setup", "up to date", "dot -Tsvg"):
        assert word in r.out


def test_output_that_cannot_be_written_is_an_error(proj):
    r = proj.run("graph", "-o", "no/such/folder/graph.dot")
    assert (r.rc, r.out) == (3, "")
    assert r.err == "ERROR: could not write the graph to 'no/such/folder/graph.dot'\n"
