"""``python -m digimeter.cli``: the ``digimeter`` command."""

from . import main

main()
