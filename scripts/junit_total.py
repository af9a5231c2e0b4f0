"""Print one closing line for several pytest runs: "total: N passed, N failed, N skipped".

.ci/run runs pytest twice (today, and a year ahead under faketime); each run's own summary line
counts only itself. A missing report counts as a failure.
"""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def totals(paths: list[Path]) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for path in paths:
        if not path.exists():
            failed += 1
            continue
        for suite in ET.parse(path).getroot().iter("testsuite"):  # noqa: S314
            tests, skips = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
            broken = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            passed, failed, skipped = passed + tests - skips - broken, failed + broken, \
                skipped + skips
    return passed, failed, skipped


def main() -> int:
    passed, failed, skipped = totals([Path(arg) for arg in sys.argv[1:]])
    print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
