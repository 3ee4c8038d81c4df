"""``python -m bench.worker MODULE VARIANT JSON``: one measurement in a fresh interpreter.

Prints the measurement as one JSON line (the last line of stdout). With
``CARNET_BENCH_PROFILE=FILE`` (set by ``python -m bench --profile``) the
measurement runs under pyinstrument and its call tree is written to FILE.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import warnings


def main(argv: list[str]) -> int:
    module, variant, raw = argv
    warnings.simplefilter("ignore")
    workload = importlib.import_module(f"bench.{module}")
    target = os.environ.get("CARNET_BENCH_PROFILE")
    if not target:
        result = workload.measure(variant, json.loads(raw))
    else:
        from pyinstrument import Profiler  # pip install pyinstrument (not a project dependency)

        profiler = Profiler(interval=0.0005)
        profiler.start()
        try:
            result = workload.measure(variant, json.loads(raw))
        finally:
            profiler.stop()
            text = profiler.output_text(unicode=False, color=False, show_all=False)
            with open(target, "w") as f:
                f.write(text)
    sys.stdout.write("\n" + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
