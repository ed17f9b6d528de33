"""Fail unless every module of src/deepfit ran at least one of its lines in the last coverage run
(`make test-fast` runs the fast tier under coverage, then this). Prints the modules' coverage, lowest first."""

import json
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "deepfit"


def main() -> int:
    report = subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", "-"], capture_output=True,
                            text=True, check=True)
    files = json.loads(report.stdout)["files"]
    covered = {Path(name).resolve(): data["summary"] for name, data in files.items()}
    rows, missing = [], []
    for path in sorted(SOURCE.rglob("*.py")):
        summary = covered.get(path.resolve())
        if summary is None or (summary["num_statements"] and not summary["covered_lines"]):
            missing.append(str(path.relative_to(SOURCE.parent)))
        elif summary["num_statements"]:
            rows.append((summary["percent_covered"], str(path.relative_to(SOURCE.parent))))
    for percent, name in sorted(rows)[:10]:
        print(f"{percent:5.1f}%  {name}")
    total = json.loads(report.stdout)["totals"]["percent_covered"]
    print(f"{len(rows)} modules run by the fast tests, {total:.1f}% of lines in all")
    if missing:
        print("not run at all by the fast tests: " + ", ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
