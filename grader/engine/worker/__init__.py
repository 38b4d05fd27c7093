"""The worker harness: runs student code in its own process and reports observations."""
