"""Command line: ``python -m gannotes COMMAND``.

- ``download NAME [--to FOLDER]``: fetch a dataset once (e.g. before a workshop) into ``data/``.
"""

from __future__ import annotations

import argparse
import sys

from . import data


def _download(args: argparse.Namespace) -> int:
    try:
        folder = data.download_dataset(args.name, args.to)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - network errors come in many types
        print(f"error: downloading {args.name} failed: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    print(f"{args.name} is in {folder}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gannotes", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    download = commands.add_parser("download", help="download a dataset (both splits) with torchvision")
    download.add_argument("name", choices=sorted(data.DATASETS), help="which dataset")
    download.add_argument("--to", default=None, help="folder to download into (default: the repo's data/)")
    download.set_defaults(run=_download)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
