"""The pipeline: decode, map, split, batch, write, commit, observe."""
