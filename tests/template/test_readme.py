"""README.md's table of parameters against template.yaml's Parameters: the same names, each
once, with the same defaults. Run with the template test (`make template-test`).

The table is the first one under the heading "## Parameters". Its first column is the
parameter's name in backticks; its second the default: `value` in backticks, *(empty)* for an
empty default, *(required)* for a parameter without one.
"""

from __future__ import annotations

import re
import unittest
from pathlib import Path

from test_template import load_template

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

REQUIRED = object()


def parameters_table(markdown: str) -> list[tuple[str, object]]:
    """(name, default) of each row of the table under "## Parameters"; REQUIRED, or the text."""
    m = re.search(r"^## Parameters\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    if not m:
        raise AssertionError('README.md has no "## Parameters" section')
    rows = []
    in_table = False
    for line in m.group(1).splitlines():
        if not line.startswith("|"):
            if in_table:
                break
            continue
        in_table = True
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "parameter" or set(cells[0]) <= {"-", " ", ":"}:
            continue  # the header and its rule
        name_cell, default_cell = cells[0], cells[1]
        name = re.fullmatch(r"`([A-Za-z0-9]+)`", name_cell)
        if not name:
            raise AssertionError(f"README parameters: {name_cell!r} is not a `Name`")
        if default_cell == "*(required)*":
            default = REQUIRED
        elif default_cell == "*(empty)*":
            default = ""
        else:
            value = re.fullmatch(r"`([^`]+)`", default_cell)
            if not value:
                raise AssertionError(
                    f"README parameters: the default of {name.group(1)}, {default_cell!r}, is "
                    "neither `value`, *(empty)* nor *(required)*"
                )
            default = value.group(1)
        rows.append((name.group(1), default))
    if not rows:
        raise AssertionError('README.md: no table under "## Parameters"')
    return rows


def template_defaults() -> dict[str, object]:
    out = {}
    for name, p in load_template()["Parameters"].items():
        if "Default" not in p:
            out[name] = REQUIRED
        elif isinstance(p["Default"], bool):
            out[name] = str(p["Default"]).lower()
        else:
            out[name] = str(p["Default"])
    return out


def show(default) -> str:
    return "*(required)*" if default is REQUIRED else repr(default)


def table_problems(markdown: str, expected: dict[str, object]) -> list[str]:
    """How the README's table disagrees with the template's (name -> default) `expected`."""
    rows = parameters_table(markdown)
    names = [name for name, _ in rows]
    problems = [f"{n}: listed twice" for n in sorted({n for n in names if names.count(n) > 1})]
    documented = dict(rows)
    problems += [f"{n}: a template parameter missing from the table" for n in expected if n not in documented]
    problems += [f"{n}: in the table, not in the template" for n in documented if n not in expected]
    problems += [
        f"{n}: default {show(documented[n])} in the README, {show(expected[n])} in the template"
        for n in expected
        if n in documented and documented[n] is not expected[n] and documented[n] != expected[n]
    ]
    return problems


class ReadmeParametersTest(unittest.TestCase):
    def test_table_matches_the_template(self):
        problems = table_problems(README.read_text(), template_defaults())
        self.assertFalse(problems, "README.md ## Parameters:\n" + "\n".join(problems))


class ReaderTest(unittest.TestCase):
    """The table reader on small inputs, and deliberate breakages of the README's table, so
    that a failure above is the README's and a drift is caught."""

    SAMPLE = (
        "intro\n\n## Parameters\n\ntext\n\n| parameter | default | what it does |\n"
        "| --- | --- | --- |\n| `A` | *(required)* | a |\n| `B` | `30` | b |\n"
        "| `C` | *(empty)* | c |\n\n| `D` | `x` | another table |\n## Next\n"
    )

    def test_reads_the_first_table_of_the_section(self):
        self.assertEqual(parameters_table(self.SAMPLE), [("A", REQUIRED), ("B", "30"), ("C", "")])

    def test_rejects_a_default_without_backticks(self):
        with self.assertRaisesRegex(AssertionError, "the default of B"):
            parameters_table(self.SAMPLE.replace("`30`", "30"))

    def test_breakages_are_caught(self):
        readme = README.read_text()
        expected = template_defaults()
        row = next(line for line in readme.splitlines() if line.startswith("| `GitHubBranch` |"))
        changed = lambda old, new: readme.replace(row, row.replace(old, new))  # noqa: E731
        breakages = [
            ("a row removed", readme.replace(row + "\n", ""), "GitHubBranch: a template parameter missing"),
            ("a row twice", readme.replace(row, row + "\n" + row), "GitHubBranch: listed twice"),
            ("another default", changed("`main`", "`master`"), "GitHubBranch: default"),
            ("a default dropped", changed("`main`", "*(required)*"), "GitHubBranch: default"),
            ("a parameter renamed", changed("GitHubBranch", "Branch"), "Branch: in the table"),
        ]
        for name, broken, expected_problem in breakages:
            with self.subTest(name):
                self.assertNotEqual(broken, readme)
                problems = table_problems(broken, expected)
                self.assertTrue(any(expected_problem in p for p in problems), problems)


if __name__ == "__main__":
    unittest.main()
