"""`python -m localrun`: the dev stack rehearsed on this machine (see localrun/rehearsal.py)."""

import sys

from localrun.rehearsal import main

sys.exit(main())
