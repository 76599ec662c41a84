"""`make bench`: benchmarks that report ratios side by side in one run.

No benchmark exists yet. Later work adds them here (dashboard vs a trivial page,
transaction pages at depth, authorization decisions, statement PDFs), each building
its own data set and printing ratios against a baseline measured in the same run.
"""

import sys


def main() -> int:
    print("No benchmarks yet: the harness is ready, the measurements arrive with the features they measure.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
