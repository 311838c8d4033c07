"""``python -m classifier.simulate``: see ``classifier.simulate.cli`` or ``--help``."""

from classifier.simulate.cli import main

raise SystemExit(main())
