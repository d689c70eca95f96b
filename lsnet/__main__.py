"""`python -m lsnet …` (also what `torchrun -m lsnet train …` runs)."""
import sys

from lsnet.cli import main

sys.exit(main())
