"""Executing one notebook: the papermill engine on a kernel we started (names only)."""
