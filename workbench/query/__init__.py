"""Query: the rules, the same for every caller (names only)."""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, {"Session": ".session", "Namespace": ".scope"})
__all__ = ["Namespace", "Session"]
