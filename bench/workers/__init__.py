"""Scripts the benchmarks run in fresh interpreters (never imported by the orchestrator)."""
