"""``python -m carnet.cli``: the same as the ``carnet`` console script."""

from carnet.cli import main

main()
