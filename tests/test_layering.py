"""The package's layers, checked from its source: what may import what.

    errors, json_values                    (rank 0: leaves)
    atomic, models                         (1: safe writes; networks)
    modelfile, training                    (2: bytes and tensors; the training loop)
    data (the kinds of input)              (3)
    detection                              (4: windows and boxes over pictures)
    estimators                             (5: scikit-learn's contract over all of the above)
    evaluation, export, serving, streaming, run_folder (6: what users do with a model and its run)
    cli                                    (7: parsing, printing, exit codes)

A module imports only from lower ranks or its own package, so there is no circle, models and data
import no estimator, CLI or server, nothing imports the CLI, and the model file imports no estimator.
Imports inside functions count too: they are dependencies all the same.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import deepfit

SOURCE = Path(deepfit.__file__).parent
RANKS = {"errors": 0, "json_values": 0, "atomic": 1, "models": 1, "modelfile": 2, "training": 2, "data": 3,
         "run_folder": 3, "runs": 4, "detection": 4, "estimators": 5, "evaluation": 6, "export": 6, "serving": 6,
         "streaming": 6, "studio": 7, "cli": 8, "__main__": 9}


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path):
    """(line, module imported, names taken from it) for every import of a deepfit module in `path`."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("deepfit"):
                    yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base.startswith("deepfit"):
                yield node.lineno, base, [alias.name for alias in node.names]


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "deepfit"


def _targets(module: str, names: list[str]) -> list[str]:
    """The modules an import reaches: `from deepfit import X` is the subpackage X, or where the public
    name X lives (the package root only points to it)."""
    if module != "deepfit":
        return [module]
    found = []
    for name in names:
        if name == "__version__":
            continue
        if (SOURCE / name).is_dir() or (SOURCE / f"{name}.py").exists():
            found.append(f"deepfit.{name}")
        else:
            found.append(getattr(importlib.import_module("deepfit"), name).__module__)
    return found


def _edges(root: Path = SOURCE):
    for path in sorted(root.rglob("*.py")):
        source = _module_name(path, root)
        for line, module, names in _imports(path, root):
            for target in _targets(module, names):
                yield f"{path.relative_to(root.parent)}:{line}", source, target, names


def test_every_import_goes_down_the_layers():
    wrong = []
    for where, source, target, _ in _edges():
        mine, theirs = _area(source), _area(target)
        if source == "deepfit" or mine == theirs:
            continue  # the package root re-exports names lazily; a package uses itself
        assert mine in RANKS and theirs in RANKS, f"{where}: give {mine} or {theirs} a rank in this test"
        if RANKS[theirs] >= RANKS[mine]:
            wrong.append(f"{where}: {source} ({mine}, rank {RANKS[mine]}) imports {target} ({theirs}, "
                         f"rank {RANKS[theirs]})")
    assert not wrong, "\n".join(wrong)


def test_the_rules_named_in_the_design_hold():
    for where, source, target, _ in _edges():
        mine, theirs = _area(source), _area(target)
        if mine in ("models", "data"):
            assert theirs not in ("estimators", "cli", "serving"), f"{where}: {source} imports {target}"
        if theirs == "cli":
            assert mine in ("cli", "__main__"), f"{where}: {source} imports the command line ({target})"
        if source == "deepfit.modelfile":
            assert theirs in ("errors", "atomic"), f"{where}: the model file imports {target}"


def test_no_module_takes_another_modules_private_names():
    taken = [f"{where}: {target}.{name}" for where, source, target, names in _edges()
             for name in names if name.startswith("_") and not name.startswith("__") and target != source]
    assert not taken, "\n".join(taken)


def test_the_layer_test_sees_a_wrong_import(tmp_path):
    # The check itself: a data module importing an estimator is reported.
    fake = tmp_path / "deepfit"
    (fake / "data").mkdir(parents=True)
    (fake / "estimators").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "data" / "__init__.py").write_text("")
    (fake / "estimators" / "__init__.py").write_text("")
    (fake / "data" / "bad.py").write_text("def f():\n    from deepfit.estimators import thing\n")
    edges = [(source, target) for _, source, target, _ in _edges(fake)]
    assert ("deepfit.data.bad", "deepfit.estimators") in edges


# ------------------------------------------------------------------- imports inside functions
# What an import inside a function may put off: a package that costs time to load (PyTorch, pandas,
# scikit-learn, matplotlib, ...; `deepfit --help` and `deepfit predict` load only what they use), or a
# deepfit module that loads one. The standard library, NumPy and deepfit's light modules go at the top,
# where the dependency graph can be read.
LIGHT_PACKAGES = set(sys.stdlib_module_names) | {"numpy", "__future__"}


def _top_level_imports(path: Path, root: Path) -> list[str]:
    """Modules `path` imports when it is loaded (not inside functions; `TYPE_CHECKING` blocks aside)."""
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = []
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in ast.walk(node) if isinstance(node, (ast.If, ast.Try, ast.With)) else [node]:
            if isinstance(sub, ast.Import):
                found += [alias.name for alias in sub.names]
            elif isinstance(sub, ast.ImportFrom):
                base = sub.module or ""
                if sub.level:
                    parts = package.split(".")[: len(package.split(".")) - sub.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                found += [base] + ([f"{base}.{a.name}" for a in sub.names] if base.startswith("deepfit") else [])
    return found


def _heavy_modules(root: Path = SOURCE) -> dict[str, str]:
    """Each deepfit module whose loading loads a heavy package, and one heavy package it loads."""
    paths = {_module_name(path, root): path for path in root.rglob("*.py")}
    direct = {name: _top_level_imports(path, root) for name, path in paths.items()}
    heavy: dict[str, str] = {}
    changed = True
    while changed:  # until no module's imports make it heavy
        changed = False
        for name, imports in direct.items():
            if name in heavy:
                continue
            chain = [name.rsplit(".", k)[0] for k in range(1, name.count("."))]  # its packages load first
            for target in imports + chain:
                reason = (heavy.get(target) if target.startswith("deepfit")
                          else None if target.split(".")[0] in LIGHT_PACKAGES else target.split(".")[0])
                if reason:
                    heavy[name], changed = reason, True
                    break
    return heavy


def test_imports_inside_functions_put_off_something_heavy():
    heavy, light = _heavy_modules(), []
    for path in sorted(SOURCE.rglob("*.py")):
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [alias.name for alias in node.names]
                    targets = _targets(node.module, names) + [f"{node.module}.{name}" for name in names]
                else:
                    continue
                third_party = [t for t in targets if not t.startswith("deepfit")]
                if third_party and all(t.split(".")[0] in LIGHT_PACKAGES for t in third_party):
                    light.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}: {targets[0]}")
                elif not third_party and not any(t in heavy for t in targets):
                    light.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}: {targets[0]} (loads nothing heavy)")
    assert not light, "imports inside functions that put off nothing; move them to the top:\n" + "\n".join(light)
