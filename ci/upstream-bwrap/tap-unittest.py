"""Run one of bubblewrap's unittest-based test files and report each test method as a TAP line.

usage: python3 tap-unittest.py TEST_FILE

Upstream's test-seccomp.py prints a single TAP line for its whole unittest run unless the
`tap.py` package is installed; this runner loads the file as a module (its `main()` is not run)
and reports each method, so that the suite counts them one by one.
"""

import importlib.util
import os
import sys
import unittest


class TapResult(unittest.TestResult):
    """A unittest result that prints one TAP line per test, with tracebacks as diagnostics."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def _line(self, status, test, suffix=''):
        self.count += 1
        print(f'{status} {self.count} {test._testMethodName}{suffix}', flush=True)

    def _diagnostics(self, test, err):
        for line in self._exc_info_to_string(err, test).splitlines():
            print(f'# {line}', flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line('ok', test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line('not ok', test)
        self._diagnostics(test, err)

    def addError(self, test, err):
        super().addError(test, err)
        self._line('not ok', test)
        self._diagnostics(test, err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line('ok', test, f' # SKIP {reason}')


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: tap-unittest.py TEST_FILE')
    path = os.path.abspath(sys.argv[1])
    name = os.path.splitext(os.path.basename(path))[0].replace('-', '_')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)  # prints `1..0 # SKIP ...` and exits if seccomp is missing
    suite = unittest.TestLoader().loadTestsFromModule(module)
    result = TapResult()
    suite.run(result)
    print(f'1..{result.count}')
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == '__main__':
    main()
