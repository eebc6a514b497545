from cik_ecrf.cli import main

raise SystemExit(main())
