"""Bring your own training code: `trainlock run -- COMMAND` and the in-process Python API.

* :mod:`.command` wraps any command in a run folder (``trainlock run``), and re-runs one
  (``trainlock reproduce``);
* :mod:`.api` is what the code itself calls: ``trainlock.current_run()`` inside a wrapped
  command, ``trainlock.start()`` in-process;
* :mod:`.recorder` writes the run folder both share: events, environment and lineage
  (kind ``"run"``);
* :mod:`.userconfig` and :mod:`.declared` resolve the user's config and hash the
  declared inputs and outputs.
"""
