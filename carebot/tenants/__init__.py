"""Tenants: the shops one deployment serves, their channels, secrets and settings."""
