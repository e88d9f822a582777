"""CLI start-up time: how long `sendwarden` takes before it does anything.

Run from the repository root with the virtualenv active:
    python bench/cli_startup.py            # 5 runs of each command
    python bench/cli_startup.py --runs 10
    python bench/cli_startup.py --demo     # also `sendwarden demo` (goal: 10 s)

Each command runs as a fresh process (as a user would type it), several times; the
median wall time is printed with its ratio to the goal (`--help`/`--version` 0.3 s,
any command that does not serve 0.8 s) and to `python -c pass` measured in the same
run, since the machine decides the absolute figures. It asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HELP_GOAL = 0.3
COMMAND_GOAL = 0.8
DEMO_GOAL = 10.0


def wall_time(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (median kept)")
    parser.add_argument("--demo", action="store_true", help="also time `sendwarden demo`")
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="sendwarden-bench-cli-"))
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMTP_", "IMAP_"))}
        env["DATABASE_URL"] = f"sqlite:///{directory / 'bench.db'}"
        env["COLUMNS"] = "100"
        cli = [sys.executable, "-m", "sendwarden.cli"]
        subprocess.run([*cli, "init"], env=env, check=True, stdout=subprocess.DEVNULL)

        baseline = wall_time([sys.executable, "-c", "pass"], env, args.runs)
        cases = [
            ("--version", [*cli, "--version"], HELP_GOAL),
            ("--help", [*cli, "--help"], HELP_GOAL),
            ("validate --help", [*cli, "validate", "--help"], COMMAND_GOAL),
            ("users list (empty SQLite)", [*cli, "users", "list"], COMMAND_GOAL),
            ("audit verify (empty SQLite)", [*cli, "audit", "verify"], COMMAND_GOAL),
        ]
        if args.demo:
            cases.append(("demo (the README's first command)", [*cli, "demo"], DEMO_GOAL))
        print(f"python -c pass: {baseline * 1000:.0f} ms (median of {args.runs})")
        print(f"{'command':<36} {'median':>8} {'goal':>6} {'/goal':>6} {'/python':>8}")
        for name, argv, goal in cases:
            took = wall_time(argv, env, args.runs)
            print(
                f"{name:<36} {took * 1000:>6.0f}ms {goal:>5.1f}s {took / goal:>6.2f}"
                f" {took / baseline:>7.1f}x"
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
