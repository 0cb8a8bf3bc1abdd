"""``python -m napari_seglab.cli``: the ``seglab`` command."""

import sys

from . import main

sys.exit(main())
