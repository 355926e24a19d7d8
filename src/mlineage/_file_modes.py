"""What a file that is not a regular one is, in words, for messages.

A leaf module: hashing (paths it cannot hash) and the local store (objects it refuses to
read) name the kind of file the same way.
"""

from __future__ import annotations

import stat

__all__ = ["describe_mode"]


def describe_mode(mode: int) -> str:
    """Name the kind of file an ``st_mode`` is: "a FIFO (named pipe)", "a symlink", ...

    Parameters
    ----------
    mode : int
        ``os.stat_result.st_mode`` (from ``lstat`` to see symlinks).

    Returns
    -------
    str
        "a symlink", "a FIFO (named pipe)", "a socket", "a device", "a directory", or
        "a special file" for any other kind that is not a regular file.

    Examples
    --------
    >>> import stat
    >>> describe_mode(stat.S_IFIFO)
    'a FIFO (named pipe)'
    """
    if stat.S_ISLNK(mode):
        return "a symlink"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "a special file"
