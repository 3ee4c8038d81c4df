"""``python -m bench.worker MODULE VARIANT JSON``: one measurement in a fresh interpreter.

Prints the measurement as one JSON line (the last line of stdout).
"""

from __future__ import annotations

import importlib
import json
import sys
import warnings


def main(argv: list[str]) -> int:
    module, variant, raw = argv
    warnings.simplefilter("ignore")
    workload = importlib.import_module(f"bench.{module}")
    result = workload.measure(variant, json.loads(raw))
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
