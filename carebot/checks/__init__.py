"""Guardrails around the model: screening a customer message before any model reads it, and
checking an answer (prompt leaks, claims the material does not ground) before it is sent."""
