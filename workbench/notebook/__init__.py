"""The Jupyter front: ``%load_ext workbench``, the magics, the explorer and the browser.

Nothing below this layer imports it; it reaches data only through :mod:`workbench.query`.
"""


def load_ipython_extension(shell) -> None:
    from .magic import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell) -> None:
    from .magic import unload_ipython_extension as unload

    unload(shell)
