"""`python -m pixserve.cli ...` is the `pixserve` command."""

import sys

from pixserve.cli.main import main

sys.exit(main())
