"""Storage: files that reach their place whole (``atomic``) and object stores (``remote``).

Names only, handed on lazily: ``open_target(url)`` gives ``(fsspec filesystem, path)``
for a local path or an ``s3://`` URL; ``is_remote(url)`` tells which.
"""

from ..lazy import lazy

__getattr__, __dir__ = lazy(__name__, dict.fromkeys(
    ["S3Options", "is_remote", "open_target", "listing_fingerprint"], ".remote"))

__all__ = ["S3Options", "is_remote", "open_target", "listing_fingerprint"]
