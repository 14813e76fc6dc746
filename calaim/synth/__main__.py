"""``python -m calaim.synth``: rewrite the synthetic default data set and its notes."""

from calaim.synth import main

raise SystemExit(main())
