"""What the commands share: the global options, the store they name (opened once), options two verbs take.

A global option may come before the verb or after it. argparse parses a verb's own
options into a fresh namespace and copies every value of it, defaults included, over the
top-level one, so a default in a verb's copy would silently undo ``trainlock --store X
train ...``. Hence the top-level parser alone holds the defaults and the verbs' copies
default to ``argparse.SUPPRESS`` (absent unless given). A fix in argparse itself shipped
in 3.9.8 and 3.10.0 and was reverted: https://github.com/python/cpython/issues/89398
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from ..store import Store

#: the global options a verb may take besides ``--debug``, which every verb takes
GlobalName = Literal["store", "json", "quiet"]
#: what a command module's ``register`` adds its parser to (``ArgumentParser.add_subparsers()``)
Subparsers = argparse._SubParsersAction
#: what ``register`` receives as ``parents``: :func:`parents`
Parents = Callable[..., list[argparse.ArgumentParser]]


class GlobalOption(NamedTuple):
    """One option of ``trainlock --help`` that a verb may also take after its name."""

    # a NamedTuple, not a dataclass: dataclasses imports inspect, about 10 ms of the ~80 ms `trainlock --help` takes

    flag: str
    dest: str
    help: str
    action: Literal["store", "store_true", "append"] = "store"
    metavar: str | None = None

    @property
    def default(self) -> Any:
        return {"store": None, "store_true": False, "append": []}[self.action]

    @property
    def verb_dest(self) -> str:
        """Where a verb's copy stores its value: a repeatable option keeps the values given before the verb."""
        return f"{self.dest}_after_verb" if self.action == "append" else self.dest

    def add_to(self, parser: argparse.ArgumentParser, *, top_level: bool, help: str | None = None) -> None:
        extra: dict[str, Any] = {} if self.metavar is None else {"metavar": self.metavar}
        parser.add_argument(
            self.flag,
            dest=self.dest if top_level else self.verb_dest,
            action=self.action,
            default=self.default if top_level else argparse.SUPPRESS,
            help=help or self.help,
            **extra,
        )


DEBUG = GlobalOption("--debug", "debug", "show tracebacks for errors", "store_true")
#: by the name a verb asks for in :func:`parents`
GLOBAL_OPTIONS: dict[GlobalName, tuple[GlobalOption, ...]] = {
    "store": (
        GlobalOption(
            "--store",
            "store",
            "run store folder or object-storage URL, e.g. s3://bucket/prefix (default: $TRAINLOCK_STORE or ./runs)",
            metavar="DIR",
        ),
        GlobalOption(
            "--storage-option",
            "storage_options",
            "an fsspec option for a URL store, e.g. endpoint_url=http://127.0.0.1:9000 (repeatable)",
            "append",
            "KEY=VALUE",
        ),
    ),
    "json": (GlobalOption("--json", "json", "machine-readable output on stdout", "store_true"),),
    "quiet": (
        GlobalOption(
            "--quiet",
            "quiet",
            "less output: no progress bar, no echo of a wrapped command, no request log",
            "store_true",
        ),
    ),
}


def all_global_options() -> Iterator[GlobalOption]:
    """Every global option, in the order ``trainlock --help`` lists them."""
    yield DEBUG
    for options in GLOBAL_OPTIONS.values():
        yield from options


def add_global_options(parser: argparse.ArgumentParser) -> None:
    """The top-level parser's copies: the only ones with defaults."""
    for option in all_global_options():
        option.add_to(parser, top_level=True)


def parents(*names: Literal["store", "json"], quiet: str | None = None) -> list[argparse.ArgumentParser]:
    """The parent parsers of a verb that takes ``--debug`` and the global options ``names``.

    ``quiet`` is the verb's help for ``--quiet``, what it leaves out; without it the verb takes no ``--quiet``.
    """
    parser = argparse.ArgumentParser(add_help=False)
    DEBUG.add_to(parser, top_level=False)
    for name in names:
        for option in GLOBAL_OPTIONS[name]:
            option.add_to(parser, top_level=False)
    if quiet is not None:
        for option in GLOBAL_OPTIONS["quiet"]:
            option.add_to(parser, top_level=False, help=quiet)
    return [parser]


def settle_global_options(
    args: argparse.Namespace, verb: argparse.ArgumentParser, unrecognized: Sequence[str] = ()
) -> str | None:
    """Merge the values given after the verb into ``args``; the flag of a global option ``verb`` does not take, if any.

    Such an option is either in ``args`` (given before the verb) or among the arguments
    the verb's parser did not recognise (given after it).
    """
    flags = {option.flag for option in all_global_options()}
    after = next((flag for flag in (text.partition("=")[0] for text in unrecognized) if flag in flags), None)
    taken = {action.dest for action in verb._actions}
    refused = None
    for option in all_global_options():
        if option.action == "append":
            setattr(args, option.dest, [*getattr(args, option.dest), *vars(args).pop(option.verb_dest, [])])
        if refused is None and option.verb_dest not in taken and getattr(args, option.dest) != option.default:
            refused = option.flag
    return refused or after


def store_of(args: argparse.Namespace) -> Store:
    """The store that ``--store`` and ``--storage-option`` name, opened once per command line."""
    store: Store | None = getattr(args, "opened_store", None)
    if store is None:
        from ..store import open_store

        store = args.opened_store = open_store(args.store, args.storage_options)
    return store


def add_equivalence_options(parser: argparse.ArgumentParser) -> None:
    """``--level``, ``--rtol``, ``--atol``: how alike two runs must be (``diff``, ``reproduce``)."""
    parser.add_argument(
        "--level",
        choices=("exact", "numeric", "different"),
        default="exact",
        help="equivalence required for exit 0 (default: exact)",
    )
    parser.add_argument("--rtol", type=float, default=1e-9, help="relative tolerance for --level numeric")
    parser.add_argument("--atol", type=float, default=0.0, help="absolute tolerance for --level numeric")


def add_search_path(parser: argparse.ArgumentParser) -> None:
    """``--path DIR``: where to look for installed distributions (``env check``, ``env verify``)."""
    parser.add_argument(
        "--path",
        action="append",
        default=None,
        metavar="DIR",
        help="look for installed distributions in DIR (a site-packages folder; repeatable) "
        "instead of this interpreter's sys.path",
    )


def add_config_arguments(parser: argparse.ArgumentParser, *, set_example: str, seed: bool = True) -> None:
    """The config composition every recipe verb takes: overlays, profiles, ``--set`` and (optionally) the seed."""
    parser.add_argument(
        "--config",
        dest="overlays",
        action="append",
        default=[],
        metavar="MORE",
        help="another config file merged on top (repeatable, in order)",
    )
    parser.add_argument(
        "--profile", action="append", default=[], metavar="P", help="apply a named profile of the config"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override one config value, e.g. --set {set_example}",
    )
    if seed:
        parser.add_argument("--seed", type=int, default=None, metavar="N", help="override the base seed")
