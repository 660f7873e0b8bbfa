"""The evaluation suite: dataset format and validator, evaluators, the runner, metrics,
reports, comparisons, thresholds and the LangSmith sync (`carebot eval`; see evals/README.md)."""
