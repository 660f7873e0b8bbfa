"""The evaluation suite: golden datasets, evaluators and reports (to be built; see the evaluation issue)."""
