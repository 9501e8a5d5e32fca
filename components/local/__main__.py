"""`python -m vpclambda.local` (in this repository `python -m components.local`, `make local`): a
stack rehearsed on this machine (see rehearsal.py)."""

import sys

from .rehearsal import main

sys.exit(main())
