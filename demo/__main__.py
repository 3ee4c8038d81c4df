"""``python -m demo``: log every demo experiment into the store, skipping what is there.

Flags are shared: ``--tracking-uri``, ``--fresh``, ``--quiet``, ``--dashboard-url``.
This is what ``make demo`` and the container's first start run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from demo import diabetes_sweep, stepwise


def main(argv: Sequence[str] | None = None) -> None:
    """The sweep first (its best run is the headline), then the step-wise curves."""
    args = list(sys.argv[1:] if argv is None else argv)
    diabetes_sweep.main(args)
    stepwise.main(args)


if __name__ == "__main__":
    main()
