"""The config reference (circuit-sim config --describe, docs/config.md) is generated from the
parsers: it lists every key they accept, with a meaning, and the copy in docs/ is current."""

from pathlib import Path

import pytest

from circuit_sim.config import reference
from circuit_sim.config.sections import NOISE_KINDS

ROOT = Path(__file__).resolve().parents[1]


def test_every_accepted_key_has_a_meaning_and_no_meaning_is_stale():
    rows = reference.reference_rows()
    keys = {f"{r['table']}.{r['key']}" for r in rows}
    assert not [k for k in keys if not reference.MEANINGS.get(k)]
    assert set(reference.MEANINGS) == keys
    tables = {r["table"] for r in rows}
    assert {"model", "input", "circuit", "noise", "run", "learning", "mismatch", "weights"} <= tables
    assert {f'noise (kind = "{k}")' for k in NOISE_KINDS} <= tables


def test_units_defaults_and_ranges_come_from_the_parser():
    rows = {f"{r['table']}.{r['key']}": r for r in reference.reference_rows()}
    assert rows["circuit.capacitance"]["unit"] == "F" and rows["circuit.capacitance"]["range"] == "> 0"
    assert rows["circuit.temperature"]["default"] == "300 K"
    assert rows["run.backend"]["range"] == '"numpy", "cython", "standalone"'
    assert rows["weights.bits"]["range"] == ">= 1, <= 24"
    assert rows["model.pi"]["range"] == "> 0, <= 1"
    assert rows['noise (kind = "flicker").white_psd']["unit"] == "A^2/Hz"


def test_docs_copy_is_the_generated_reference():
    doc = (ROOT / "docs" / "config.md").read_text()
    assert doc == reference.describe(), \
        "docs/config.md is stale: circuit-sim config --describe > docs/config.md"


def test_every_key_of_every_shipped_config_is_in_the_reference():
    import tomllib

    rows = reference.reference_rows()
    known = {(r["table"].split(" ")[0], r["key"]) for r in rows}
    for path in sorted((ROOT / "experiments" / "configs").glob("*.toml")):
        d = tomllib.loads(path.read_text())
        for table, body in d.items():
            for entry in body if isinstance(body, list) else [body]:
                for key in entry:
                    assert (table, key) in known, f"{path.name}: {table}.{key}"


@pytest.mark.parametrize("section", ["circuit", "noise"])
def test_describe_one_section(section, capsys):
    from circuit_sim.cli import main

    assert main(["config", "--describe", section]) == 0
    out = capsys.readouterr().out
    assert f"## [{section}" in out or f"## [[{section}" in out
    assert "## [run]" not in out
