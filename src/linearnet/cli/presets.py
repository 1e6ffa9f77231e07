"""``linearnet presets``: the seed material's experiments, with source and recipe."""

from __future__ import annotations

from ..presets import PRESETS


def add_parser(commands) -> None:
    presets = commands.add_parser(
        "presets",
        help="list the presets with their source and recipe",
        description="List the presets with their source and recipe.",
    )
    presets.set_defaults(handler=run)


def run(args) -> int:
    for preset in PRESETS.values():
        print(f"{preset.name}  (impl {preset.train.impl})")
        print(f"  source:  {preset.source}")
        print(f"  recipe:  {preset.recipe}")
        print(f"  printed: {preset.printed}")
    return 0
