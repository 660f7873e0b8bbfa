"""Benchmarks for carebot (`make bench`): the real `carebot serve` over HTTP on loopback, with fake
third parties beside it, treated as a black box (HTTP, the `carebot` command, SQL for sizes)."""
