"""``python -m napari_seglab``: napari with the KESM sample and SegLab's widgets docked.

``--demo`` runs the KESM example first; ``--screenshot PATH`` saves a PNG of the window and
exits (see :mod:`napari_seglab._widgets._launcher`).
"""

import sys

from ._widgets._launcher import main

if __name__ == "__main__":
    sys.exit(main())
