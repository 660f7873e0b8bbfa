"""The evaluation suite: dataset format and validator, evaluators, the runner, metrics,
reports, comparisons, thresholds, the LangSmith sync and one `carebot eval` run from options
to exit code (`run.py`; see evals/README.md)."""
