"""The mutation score of the last `mutmut run`, per module, read from mutmut's results in mutants/.

A mutant is killed when a test failed (or timed out, or the type check refused it). Every
survivor must be named in this folder's README, with why it is equivalent; the ones that are
not are printed, and the exit status is 1 while any is left.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

MUTANTS = Path("mutants")
README = Path(__file__).with_name("README.md")
# mutmut's exit codes (mutmut.stats.status_by_exit_code), folded to what the score needs.
KILLED_CODES = {1, 3, 24, -24, 152, 255, 36, 37}
SURVIVED_CODES = {0}
NO_TESTS_CODES = {5, 33}
MUTANT_NAME = re.compile(r"`([\w.]+__mutmut_\d+)`")


def results_by_module(root: Path = MUTANTS) -> dict[str, dict[str, int | None]]:
    """Exit code by mutant name, per mutated module (`accsync_pipeline/domain/backoff.py`)."""
    results: dict[str, dict[str, int | None]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        module = meta.relative_to(root).as_posix().removesuffix(".meta")
        results[module] = json.loads(meta.read_text())["exit_code_by_key"]
    return results


def outcome(exit_code: int | None) -> str:
    if exit_code in KILLED_CODES:
        return "killed"
    if exit_code in SURVIVED_CODES:
        return "survived"
    if exit_code in NO_TESTS_CODES:
        return "no tests"
    return "not checked" if exit_code is None else "suspicious"


def explained_survivors(readme: Path = README) -> set[str]:
    """The mutant names the README explains as equivalent."""
    return set(MUTANT_NAME.findall(readme.read_text())) if readme.exists() else set()


def main() -> int:
    results = results_by_module()
    if not results:
        print("no mutmut results in mutants/: run `make mutation`")
        return 1
    explained = explained_survivors()
    total = Counter[str]()
    unexplained: list[str] = []
    print(f"{'module':<52} {'killed':>7} {'total':>6} {'score':>7}  survived  no tests")
    for module, codes in results.items():
        if not codes:
            continue
        counts = Counter(outcome(code) for code in codes.values())
        total.update(counts)
        total["total"] += len(codes)
        score = 100 * counts["killed"] / len(codes)
        print(
            f"{module:<52} {counts['killed']:>7} {len(codes):>6} {score:>6.1f}%"
            f"  {counts['survived']:>8}  {counts['no tests']:>8}"
        )
        unexplained += sorted(
            name for name, code in codes.items() if outcome(code) != "killed" and name not in explained
        )
    score = 100 * total["killed"] / total["total"]
    print(
        f"{'all':<52} {total['killed']:>7} {total['total']:>6} {score:>6.1f}%"
        f"  {total['survived']:>8}  {total['no tests']:>8}"
    )
    if unexplained:
        print(f"\n{len(unexplained)} surviving mutants are not explained in {README.name}:")
        for name in unexplained:
            print(f"  {name}    (mutmut show {name})")
        return 1
    print(f"\nevery surviving mutant is explained in {README.name} as equivalent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
