import sys

from synthgan.cli import main

sys.exit(main())
