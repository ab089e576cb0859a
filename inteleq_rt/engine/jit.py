"""numba's ``njit``, with its compile cache in the user's cache folder.

numba's ``cache=True`` writes beside the module by default: inside site-packages for an
installed copy, where a system install cannot write and where the files outlive pip's
uninstall (a bare ``inteleq_rt/`` left there shadowed a later editable install). Every kernel
module takes ``njit`` from here, so the cache goes to ``$NUMBA_CACHE_DIR`` when the user set
it, else to ``$XDG_CACHE_HOME/inteleq-rt/numba``; numba keys entries by the source's path,
so two installs never share one.
"""

from __future__ import annotations

from numba import config, njit

from ..resources import user_cache

if not config.CACHE_DIR:
    config.CACHE_DIR = str(user_cache() / "numba")

__all__ = ["njit"]
