"""Loaded at interpreter start-up in `trainlock check` runs only (via PYTHONPATH).

When ``TRAINLOCK_PERTURB_LISTING=reverse`` it makes directory listings come back in
reverse order, so code that relies on the file system's listing order shows up as a
difference. The file system promises no order; reversing is a legitimate one.
"""

import os

if os.environ.get("TRAINLOCK_PERTURB_LISTING") == "reverse":
    _listdir = os.listdir
    _scandir = os.scandir

    def _reversed_listdir(path="."):
        return list(reversed(_listdir(path)))

    class _ReversedScandir:
        def __init__(self, path="."):
            self._iterator = _scandir(path)
            self._entries = list(reversed(list(self._iterator)))

        def __iter__(self):
            return iter(self._entries)

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self.close()

        def close(self):
            self._iterator.close()

    os.listdir = _reversed_listdir
    os.scandir = _ReversedScandir  # type: ignore[assignment]  # a class standing in for the function
