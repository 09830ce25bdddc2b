"""Review: flags, adjudication, label history screens and data-health results."""
