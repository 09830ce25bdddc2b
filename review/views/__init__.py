"""Review screens."""
