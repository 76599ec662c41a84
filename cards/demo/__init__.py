"""The demo world behind ``manage.py seed_demo``: people, cards and years of activity."""

from .world import (
    DemoLogin,
    DemoWorld,
    PrintableCard,
    world_build,
    world_counts,
    world_delete,
    world_exists,
    world_logins,
)

__all__ = [
    "DemoLogin",
    "DemoWorld",
    "PrintableCard",
    "world_build",
    "world_counts",
    "world_delete",
    "world_exists",
    "world_logins",
]
