"""Unit tests of the model: `python3 -m unittest discover -s tests -t .` from the repository root."""

import os
import sys

# The code under test is the source directory SageMaker runs (src/, packed as sourcedir.tar.gz).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src"))
