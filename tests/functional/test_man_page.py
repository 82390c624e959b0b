"""The man page (docs/doit.1, installed as man1/doit.1) stays true to the
binary: every command `doit help` lists is described, and every option
`doit help COMMAND` shows is in that command's section of OPTIONS (the
loader and database options in their own section). doit-cpp's own page:
cpp_only."""

import re

import pytest

from conftest import REPO_ROOT

pytestmark = pytest.mark.cpp_only

MAN_PAGE = REPO_ROOT / "docs" / "doit.1"
LOADER_SECTIONS = {"DB backend", "task loader"}


def man_text():
    """The roff source with `\\-` as `-`."""
    return MAN_PAGE.read_text().replace("\\-", "-")


def man_subsections():
    """{subsection title: its text} of the OPTIONS section."""
    text = man_text()
    options = text[text.index(".SH OPTIONS"):text.index(".SH FILES")]
    parts = re.split(r'^\.SS "([^"]+)"\n', options, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


def commands(project):
    r = project.run("help")
    assert r.rc == 0
    return re.findall(r"^  doit (\S+) {2,}", r.out.split("\n\n  doit help ")[0], re.M)


def option_flags(project, command):
    """{help section: [flags]} of `doit help COMMAND`."""
    r = project.run("help", command)
    assert r.rc == 0, r
    if "\nOPTIONS\n" not in r.out:
        return {}
    block = r.out.split("\nOPTIONS\n", 1)[1].split("\nDESCRIPTION\n", 1)[0]
    sections, current = {}, None
    for line in block.splitlines():
        if re.match(r"^    \S", line):
            current = sections.setdefault(line.strip(), [])
        elif re.match(r"^      -", line):
            current.extend(re.findall(r"(--?[A-Za-z][\w-]*)", line.split("=")[0]))
    return sections


def test_every_command_is_described(project):
    names = commands(project)
    assert "graph" in names and "run" in names
    section = man_text().split(".SH COMMANDS", 1)[1].split(".SH OPTIONS", 1)[0]
    for name in names:
        assert re.search(rf"^\.BR? {re.escape(name)}\b", section, re.M), name


def test_every_option_is_in_its_commands_section(project):
    subsections = man_subsections()
    loader = subsections["Loader and database"]
    for command in commands(project):
        for section, flags in option_flags(project, command).items():
            where = loader if section in LOADER_SECTIONS else subsections.get(command, man_text())
            for flag in flags:
                assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", where), \
                    f"{command}: {flag} not in the man page's '{section}' part"
