"""The bundled program's entry point: the same `cik-ecrf` command as the installed package."""

from cik_ecrf.cli import main

raise SystemExit(main())
