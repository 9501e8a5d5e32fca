"""`make mutate SAMPLE=n`: mutmut on a random sample of the mutants, for a score in minutes, not hours.

The model and the checks have about 6,600 mutants, most of them reached by the component's tests
under Pulumi's mocks: every mutant on two CPUs takes most of a day. A uniform random sample, drawn in
proportion to each module's number of mutants (the same sample for the same seed and sources),
estimates the score with a known error: `scripts/mutation_report.py --sample` prints the 95 %
interval.

    python scripts/mutation_sample.py --size 400 'components.*'     # then mutation_report.py --sample
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
import subprocess
import sys
from pathlib import Path

MUTANTS = Path("mutants")
SAMPLE_FILE = MUTANTS / "sample.txt"


def generate_mutants() -> None:
    """Writes mutants/ the way `mutmut run` starts (it does the same again, unchanged files untouched)."""
    from mutmut import __main__ as mutmut_main

    MUTANTS.mkdir(exist_ok=True)
    mutmut_main.copy_src_dir()
    mutmut_main.copy_also_copy_files()
    mutmut_main.setup_source_paths()
    mutmut_main.store_lines_covered_by_tests()
    mutmut_main.create_mutants(os.cpu_count() or 1)


def mutants_by_module(directory: Path, patterns: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for meta in sorted(directory.rglob("*.py.meta")):
        name = ".".join(meta.relative_to(directory).with_suffix("").with_suffix("").parts)
        if patterns and not any(fnmatch.fnmatch(name, p) for p in patterns):
            continue
        names = sorted(json.loads(meta.read_text())["exit_code_by_key"])
        if names:
            found[name] = names
    return found


def stratified_sample(population: dict[str, list[str]], size: int, seed: int) -> list[str]:
    """`size` mutants, each module's share in proportion to its mutants (largest remainders)."""
    total = sum(len(names) for names in population.values())
    if not 0 < size <= total:
        raise ValueError(f"--size must be between 1 and the {total} mutants of the modules chosen, not {size}")
    quotas = {module: size * len(names) / total for module, names in population.items()}
    counts = {module: int(quota) for module, quota in quotas.items()}
    by_remainder = sorted(population, key=lambda m: (-(quotas[m] - counts[m]), m))
    for module in by_remainder[:size - sum(counts.values())]:
        counts[module] += 1
    rng = random.Random(seed)
    return [name for module in sorted(population) for name in sorted(rng.sample(population[module], counts[module]))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("patterns", nargs="*", help="module name patterns (fnmatch), e.g. 'components.model.*'")
    parser.add_argument("--size", type=int, required=True, help="how many mutants to run")
    parser.add_argument("--seed", type=int, default=0, help="the same seed draws the same sample")
    args = parser.parse_args(argv)
    generate_mutants()
    population = mutants_by_module(MUTANTS, args.patterns)
    if not population:
        print(f"no mutated module matches {args.patterns}", file=sys.stderr)
        return 1
    try:
        sample = stratified_sample(population, args.size, args.seed)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    SAMPLE_FILE.write_text("\n".join(sample) + "\n")
    print(f"{len(sample)} of {sum(map(len, population.values()))} mutants drawn (seed {args.seed}), "
          f"listed in {SAMPLE_FILE}")
    mutmut = Path(sys.executable).with_name("mutmut")
    return subprocess.call([str(mutmut), "run", *sample])


if __name__ == "__main__":
    sys.exit(main())
