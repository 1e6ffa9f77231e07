"""A table shared between the processes of a launched run (torchrun): each opens its share, all agree on
its columns, its classes and its categories' levels, and one note speaks for the rows every process dropped.

Only torch-free modules are imported here; the library is imported inside each function.
"""

from __future__ import annotations


def shared_chunks(group, path, *, levels=None, budget: int | None = None, **options):
    """:func:`linearnet.tables.table_chunks` of this process's share of ``path``, in a distributed run.

    Every process opens its share; an error on any (a file missing on one machine) is raised on
    all, the lowest rank's; and every process must find the columns rank 0 found, or all stop.
    The categories are coded by ``levels``, else by those every process's share holds (:func:`shared_levels`,
    a category refused past ``budget``).
    """
    from ..tables import table_chunks

    if levels is None:
        known = ("target", "features", "formula", "missing", "sep", "decimal", "chunk_rows", "carry", "carried_in_use")
        levels = shared_levels(group, path, budget=budget, **{k: v for k, v in options.items() if k in known})
    options["levels"] = levels
    opened = []

    def part():
        opened.append(table_chunks(path, share=(group.rank, group.size), **options))
        chunks, features = opened[0]
        return features, chunks.target_name

    found = group.everyone(part)
    for rank, columns in enumerate(found):
        if columns != found[0]:
            from ..config import SameEverywhereError

            raise SameEverywhereError(
                f"{path}: process {rank} reads the columns {', '.join(columns[0])} (target {columns[1]}) where "
                f"process 0 reads {', '.join(found[0][0])} (target {found[0][1]}): every machine must see the same "
                f"files"
            )
    return opened[0]


def shared_levels(group, path, **options):
    """The levels of the categories of ``path`` over every process's share (see ``category_levels``): each
    process finds its share's, and all join them in rank order, which is file order."""
    from ..tables import CategoryLevels, category_levels

    def part():
        return category_levels(path, share=(group.rank, group.size), **options)

    return CategoryLevels.union(group.everyone(part))


def shared_classes(group, path, target: str, **options) -> list[str]:
    """The class names of the target of ``path`` over every process's share (see ``target_classes``)."""
    from ..tables import TargetLabels, target_labels

    def part():
        return target_labels(path, target, share=(group.rank, group.size), **options)

    return TargetLabels.union(group.everyone(part)).classes()


def shared_dropped_note(group, chunks) -> str | None:
    """The note about the rows every process's last pass dropped (``missing="drop"``), or None."""
    parts = group.everyone(lambda: (chunks.dropped_rows, chunks.dropped_note))
    dropped = sum(count for count, _ in parts)
    if not dropped:
        return None
    rank, first = next((rank, text) for rank, (count, text) in enumerate(parts) if count)
    return f"dropped {dropped:,} rows with missing values over the {group.size} processes; process {rank}: {first}"
