"""`make bench`: the project's performance figures, each beside its reference (see docs/performance.md)."""
