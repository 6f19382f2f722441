"""``python -m otlp2parquet``."""

import sys

from otlp2parquet.cli import main

sys.exit(main())
