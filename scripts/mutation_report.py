"""The mutation score of `make mutate`, per module and in all, and the mutants that survived.

Reads what `mutmut run` recorded under `mutants/` (one `.meta` file per mutated module). A mutant
counts as caught when a test failed (killed), when the tests ran past their time limit under it
(timeout) or when it could not even be type checked; a mutant no test runs counts against the score
like a survivor. `mutmut show <name>` prints a mutant's diff.

    python scripts/mutation_report.py                       # every mutated module
    python scripts/mutation_report.py 'vpclambda_runtime.*' # the modules matching a pattern
    python scripts/mutation_report.py --sample              # the sample of `make mutate SAMPLE=n` only

With `--sample`, only the mutants drawn by `scripts/mutation_sample.py` count, and the total's score
comes with its 95 % interval (Wilson's): what the score over all the modules' mutants would be.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

MUTANTS = Path("mutants")
CAUGHT = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout",
          37: "type check", -11: "segfault", -9: "segfault"}
"""mutmut's exit codes of the mutants a test caught (`mutmut.stats.status_by_exit_code`)."""
MISSED = {0: "survived", 5: "no tests", 33: "no tests", 35: "suspicious"}
"""Exit codes of the mutants no test caught (suspicious: the tests' outcome did not say)."""


@dataclass
class Module:
    name: str
    statuses: Counter[str] = field(default_factory=Counter)
    missed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return sum(n for status, n in self.statuses.items() if status not in ("not checked", "skipped"))

    @property
    def caught(self) -> int:
        return sum(n for status, n in self.statuses.items() if status in set(CAUGHT.values()))

    def score(self) -> float:
        return 100.0 * self.caught / self.checked if self.checked else 0.0


def status(code: int | None) -> str:
    if code is None:
        return "not checked"
    if code == 34:
        return "skipped"
    return CAUGHT.get(code) or MISSED.get(code) or "suspicious"


def wilson_interval(caught: int, checked: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % interval of a proportion measured on a random sample (in %)."""
    if not checked:
        return 0.0, 100.0
    p = caught / checked
    centre = (p + z * z / (2 * checked)) / (1 + z * z / checked)
    half = z * math.sqrt(p * (1 - p) / checked + z * z / (4 * checked * checked)) / (1 + z * z / checked)
    return 100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half)


def read(directory: Path, patterns: list[str], only: set[str] | None = None) -> list[Module]:
    modules = []
    for meta in sorted(directory.rglob("*.py.meta")):
        name = ".".join(meta.relative_to(directory).with_suffix("").with_suffix("").parts)
        if patterns and not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        codes: dict[str, int | None] = json.loads(meta.read_text())["exit_code_by_key"]
        if not codes:
            continue
        module = Module(name)
        for mutant, code in sorted(codes.items()):
            if only is not None and mutant not in only:
                continue
            module.statuses[status(code)] += 1
            if code in MISSED:
                module.missed.append((mutant, MISSED[code]))
        if module.statuses:
            modules.append(module)
    return modules


def report(modules: list[Module], out: list[str], sampled: bool = False) -> float:
    width = max((len(m.name) for m in modules), default=10)
    out.append(f"{'module':<{width}}  mutants  caught  missed  unchecked  score")
    total = Module("total")
    for m in modules:
        missed = m.checked - m.caught
        score = f"{m.score():5.1f} %" if m.checked else "    -"
        out.append(f"{m.name:<{width}}  {sum(m.statuses.values()):7d}  {m.caught:6d}  {missed:6d}  "
                   f"{m.statuses['not checked']:9d}  {score}")
        total.statuses.update(m.statuses)
    out.append(f"{'total':<{width}}  {sum(total.statuses.values()):7d}  {total.caught:6d}  "
               f"{total.checked - total.caught:6d}  {total.statuses['not checked']:9d}  {total.score():5.1f} %")
    if sampled:
        low, high = wilson_interval(total.caught, total.checked)
        out.append(f"sample of {total.checked} checked mutants: score {total.score():.1f} %, "
                   f"95 % interval {low:.1f} % to {high:.1f} %")
    survivors = [(mutant, why) for m in modules for mutant, why in m.missed]
    out.append(f"\n{len(survivors)} mutants not caught (`mutmut show <name>` prints one):")
    out.extend(f"  {mutant}  ({why})" for mutant, why in survivors)
    return total.score()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("patterns", nargs="*", help="module name patterns (fnmatch), e.g. 'components.model.*'")
    parser.add_argument("--directory", type=Path, default=MUTANTS)
    parser.add_argument("--sample", action="store_true", help="only the mutants listed in <directory>/sample.txt")
    args = parser.parse_args(argv)
    only = None
    if args.sample:
        sample_file = args.directory / "sample.txt"
        if not sample_file.is_file():
            print(f"no {sample_file}: run `make mutate SAMPLE=n` first", file=sys.stderr)
            return 1
        only = set(sample_file.read_text().split())
    modules = read(args.directory, args.patterns, only)
    if not modules:
        print(f"no mutation results under {args.directory}/: run `make mutate` first", file=sys.stderr)
        return 1
    lines: list[str] = []
    report(modules, lines, sampled=args.sample)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
