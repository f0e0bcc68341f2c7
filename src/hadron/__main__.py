import sys

from hadron.cli import main

sys.exit(main())
