"""Prompt templates, one file per graph node that talks to a model."""

from __future__ import annotations

import string
from functools import cache
from importlib import resources


@cache
def load_prompt(name: str) -> str:
    """The template text of `prompts/<name>.txt`."""
    return (resources.files(__package__) / f"{name}.txt").read_text(encoding="utf-8")


def prompt_names() -> list[str]:
    """Every prompt shipped with the package."""
    return sorted(
        f.name.removesuffix(".txt") for f in resources.files(__package__).iterdir() if f.name.endswith(".txt")
    )


def placeholders(name: str) -> set[str]:
    """The `{placeholders}` a template expects."""
    return {field for _, field, _, _ in string.Formatter().parse(load_prompt(name)) if field}


def render_prompt(name: str, **values: object) -> str:
    """The template filled in; a missing value raises KeyError naming it."""
    return load_prompt(name).format(**values)
