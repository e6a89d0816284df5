"""`python -m deploy`: the command-line entry point."""

from deploy.cli import main

raise SystemExit(main())
