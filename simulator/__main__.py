"""`python -m simulator` is the `mistersmith` command."""

from simulator.cli import main

raise SystemExit(main())
