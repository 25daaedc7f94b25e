import sys

from smarter_obs.cli import main

sys.exit(main())
