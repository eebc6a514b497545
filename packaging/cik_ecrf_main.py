"""The bundled program's entry point: the same `cik-ecrf` command as the installed package."""

import multiprocessing

from cik_ecrf.cli import main

# `cik-ecrf server --workers N` starts worker processes; a frozen program must let them start here.
multiprocessing.freeze_support()
raise SystemExit(main())
