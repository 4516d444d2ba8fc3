"""Each setting is declared once (sidecar/settings.py); the README's option table says what
the declarations say, row for row."""

from __future__ import annotations

import re
from pathlib import Path

from sidecar.settings import option_table, options

README = Path(__file__).parents[2] / "README.md"
ROW = re.compile(r"^\| `(?P<flag>--[a-z-]+) [A-Z:]+` \| `(?P<env>\w+)` \| (?P<default>[^|]+) "
                 r"\| (?P<meaning>.+) \|$")


def _readme_rows() -> dict[str, tuple[str, str, str]]:
    table = README.read_text().split("<!-- options:", 1)[1].split("<!-- /options -->")[0]
    rows = [ROW.match(line) for line in table.splitlines() if line.startswith("| `--")]
    assert all(rows), "a row of the option table is not | `--flag METAVAR` | `ENV` | … |"
    return {r["flag"]: (r["env"], r["default"], r["meaning"]) for r in rows if r}


def test_the_readme_has_a_row_per_setting_and_no_stale_row() -> None:
    declared = {o.flag: (o.env, o.default_text, o.meaning) for o in options()}
    rows = _readme_rows()
    assert sorted(declared.keys() - rows.keys()) == [], "settings without a README row"
    assert sorted(rows.keys() - declared.keys()) == [], "README rows of no setting"
    assert rows == declared, "run scripts/options-table"


def test_the_readme_table_is_the_generated_one() -> None:
    assert option_table() in README.read_text(), "run scripts/options-table"


def test_flags_and_environment_variables_follow_the_field_names() -> None:
    for declared in options():
        assert declared.flag == "--" + declared.name.replace("_", "-")
        assert declared.env == "OCPI_SIDECAR_" + declared.name.upper()
        assert declared.meaning and declared.metavar
