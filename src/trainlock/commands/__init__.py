"""The verbs of the command line, one module each (as DVC's ``dvc/commands/<verb>.py``).

A module has ``register(subparsers, parents)``: it adds the verb's parser with its help
texts and the global options it takes (``parents("store", "json", quiet=...)``), and sets
``func=run`` (not ``run=``: a verb's RUN argument is ``args.run``), ``command`` (its name
as typed, e.g. ``"env check"``), ``enveloped=True`` for a verb that computes and so runs
inside the process envelope, ``wraps_command=True`` for one that takes a command after
``--``. And ``run(args) -> int``: one library call, then its rendering and exit code.
Nothing heavy is imported at module level: the library loads inside ``run``, so that
``trainlock --help`` stays fast.
"""
