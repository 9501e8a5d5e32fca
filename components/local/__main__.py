"""`python -m vpclambda.local` (in this repository `python -m components.local`, `make local`): a
stack rehearsed on this machine (see rehearsal.py)."""

import sys

try:
    from .rehearsal import main
except ModuleNotFoundError as missing:  # the distribution without its `local` extra
    print(f"python -m {__package__}: {missing.name} is not installed; the rehearsal needs the distribution's "
          "`local` extra: pip install 'pulumi-vpc-lambda[local]'", file=sys.stderr)
    sys.exit(2)

sys.exit(main())
