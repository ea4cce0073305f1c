"""`python -m weboter.runtime.cli`: the same as the `weboter` command."""

import sys

from weboter.runtime.cli.main import main

sys.exit(main())
