"""docs/tutorial.md cannot rot: every ``sh`` block is run (from a scratch directory that sees
the repository's experiments/ and docs/), must exit 0, and every line of the ``text`` block
after it must appear in what it printed, with numbers matched as numbers (any value) and runs
of spaces as any whitespace."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def tutorial_steps(text: str) -> list[tuple[list[str], list[str]]]:
    """``[(commands, expected lines)]``: each sh block and the text block that follows it."""
    blocks = re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S)
    steps = []
    for kind, body in blocks:
        lines = [ln for ln in body.splitlines() if ln.strip()]
        if kind == "sh":
            steps.append((lines, []))
        elif kind == "text" and steps:
            steps[-1][1].extend(lines)
    return steps


def line_pattern(line: str) -> re.Pattern:
    parts, pos = [], 0
    for m in re.finditer(NUMBER, line):
        parts.append(re.escape(line[pos:m.start()]))
        parts.append(NUMBER)
        pos = m.end()
    parts.append(re.escape(line[pos:]))
    pattern = "".join(parts)
    pattern = re.sub(r"(\\ )+", r"\\s+", pattern)
    return re.compile(pattern.strip())


def test_line_pattern_matches_numbers_as_numbers():
    p = line_pattern("thermal   thermal      1.657e-26  0.002071        0.2")
    assert p.search("thermal  thermal  2.5e-27 0.1 10.0")
    assert not p.search("shot  thermal  2.5e-27 0.1 10.0")
    steps = tutorial_steps((ROOT / "docs" / "tutorial.md").read_text())
    assert len(steps) >= 5 and all(cmds for cmds, _ in steps)


@pytest.mark.slow
def test_tutorial_runs_as_written(tmp_path):
    for name in ("experiments", "docs"):
        (tmp_path / name).symlink_to(ROOT / name)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for commands, expected in tutorial_steps((ROOT / "docs" / "tutorial.md").read_text()):
        out = ""
        for cmd in commands:
            r = subprocess.run(["bash", "-c", cmd], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=900)
            assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
            out += r.stdout + r.stderr
        missing = [ln for ln in expected if not line_pattern(ln).search(out)]
        assert not missing, f"{commands}: lines not printed: {missing}\n--- printed:\n{out[-3000:]}"
    for png in ("budget.png", "slab_2d.png", "map/T_measured_vs_circuit.capacitance.png",
                "map/posterior_error_vs_circuit.capacitance.png"):
        assert (tmp_path / "output" / "tutorial" / png).stat().st_size > 10000
