# SPDX-License-Identifier: MIT
"""Runs the unittest modules test_*.py of one tier folder and ends with the
line "N passed, N failed" (", N skipped" after it when some were skipped)
that tests/run-tiers.sh adds up.

usage: runner.py FOLDER [PATTERN]"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


class CountingResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = 0

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


def main():
    folder = os.path.abspath(sys.argv[1])
    pattern = sys.argv[2] if len(sys.argv) > 2 else "test_*.py"
    sys.path.insert(0, folder)
    suite = unittest.defaultTestLoader.discover(folder, pattern=pattern, top_level_dir=folder)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=CountingResult)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    line = f"{result.passed} passed, {failed} failed"
    if result.skipped:
        line += f", {len(result.skipped)} skipped"
    sys.stdout.flush()
    print(line, flush=True)
    return 0 if failed == 0 and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
