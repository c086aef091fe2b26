import sys

from losscheck.cli import main

sys.exit(main())
