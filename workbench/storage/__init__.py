"""Storage: how files reach their place whole (``atomic``); object stores come next (names only)."""
