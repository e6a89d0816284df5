"""WSGI entry point for gunicorn (`app.wsgi:app`): reads the environment once per worker."""

from __future__ import annotations

import os
from pathlib import Path

from gunicorn.errors import AppImportError

from app import create_app
from app.config import ConfigError

# gunicorn's exit code for "the app cannot be loaded": the master stops instead of respawning.
APP_LOAD_ERROR = 4


def _refusal(error: ConfigError) -> BaseException:
    """What a worker raises when the environment is invalid: the message, once per master.

    Every worker meets the same invalid environment at the same moment; only the first says why
    (gunicorn prints an AppImportError's message alone, without a traceback), the others just
    stop. The marker lives in the metrics folder gunicorn.conf.py makes fresh for each master.
    """
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        try:
            os.close(os.open(Path(folder) / "config-error-reported", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            return SystemExit(APP_LOAD_ERROR)
        except OSError:
            pass  # cannot mark it: better said twice than not at all
    return AppImportError(str(error))


try:
    app = create_app()
except ConfigError as exc:
    raise _refusal(exc) from None
