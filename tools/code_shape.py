"""The shape of the code, for reviews: lines, functions over 60 lines, imports of another module's
private names, and imports inside functions. `python3 tools/code_shape.py [src/deepfit]`."""

import ast
import sys
from pathlib import Path

LONGEST = 60


def main(root: Path) -> None:
    lines, long, private, inner = 0, [], [], 0
    for path in sorted(root.rglob("*.py")):
        text = path.read_text()
        lines += len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > LONGEST:
                    long.append((length, f"{path}:{node.lineno} {node.name}"))
                inner += sum(isinstance(sub, (ast.Import, ast.ImportFrom)) for sub in ast.walk(node))
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(root.name)):
                private += [f"{path}:{node.lineno} {node.module}.{alias.name}" for alias in node.names
                            if alias.name.startswith("_") and not alias.name.startswith("__")]
    print(f"{lines} lines in {root}")
    print(f"{len(long)} functions over {LONGEST} lines" + "".join(f"\n  {n} {where}" for n, where in sorted(long)))
    print(f"{len(private)} imports of private names" + "".join(f"\n  {where}" for where in private))
    print(f"{inner} imports inside functions")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "src/deepfit"))
