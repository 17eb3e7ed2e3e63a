"""The project's layering: models/ and noise/ never import brian2; experiments/ and
benchmarks/ use only the public API (top-level names of circuit_sim, models, noise)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            for a in node.names:
                yield node.module, a.name


def test_models_and_noise_never_import_brian2():
    for pkg in ("models", "noise"):
        for path in (ROOT / pkg).rglob("*.py"):
            for module, _ in _imports(path):
                assert not module.split(".")[0] == "brian2", f"{path} imports brian2"
    code = "import sys, models, noise; sys.exit('brian2' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_scripts_use_only_the_public_api():
    import circuit_sim
    import models
    import noise

    public = {"circuit_sim": set(circuit_sim.__all__), "models": set(dir(models)),
              "noise": set(dir(noise))}
    for folder in ("experiments", "benchmarks"):
        for path in (ROOT / folder).rglob("*.py"):
            for module, name in _imports(path):
                top = module.split(".")[0]
                if top in public:
                    assert module == top, f"{path}: imports private module {module}"
                    assert name is None or name in public[top] and not name.startswith("_"), \
                        f"{path}: imports non-public {module}.{name}"
