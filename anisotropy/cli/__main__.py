"""``python -m anisotropy.cli``: the same as the ``cr-anisotropy`` command."""

import sys

from anisotropy.cli import main

sys.exit(main())
