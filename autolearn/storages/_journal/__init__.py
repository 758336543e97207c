"""Append-only journal file storage (see :class:`JournalStorage`)."""

from autolearn.storages._journal._storage import FORMAT_VERSION, JournalStorage

__all__ = ["FORMAT_VERSION", "JournalStorage"]
