"""`python -m vpclambda.local` (in this repository `python -m components.local`, `make local`): a
stack rehearsed on this machine (see rehearsal.py)."""

import os
import sys

try:
    from .rehearsal import INTERRUPTED, main
except ModuleNotFoundError as missing:  # the distribution without its `local` extra
    print(f"python -m {__package__}: {missing.name} is not installed; the rehearsal needs the distribution's "
          "`local` extra: pip install 'pulumi-vpc-lambda[local]'", file=sys.stderr)
    sys.exit(2)

status = main()
if status == INTERRUPTED:
    # Interrupted, and the clean-up is done: leave now. Interpreter shutdown puts the default
    # actions back, so a signal arriving then would end the process by it (-2) instead of 130.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
sys.exit(status)
