"""Sources: one module per kind, capabilities instead of kind strings (names only)."""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, {
    "Source": ".base", "Attachable": ".base", "HubBacked": ".base",
    "Hub": ".hub", "make_source": ".registry",
})
__all__ = ["Attachable", "Hub", "HubBacked", "Source", "make_source"]
