"""``python -m otlp2parquet``."""

import sys

from otlp2parquet.cli.main import main

sys.exit(main())
