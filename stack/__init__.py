"""The local layered stack: N gunicorn instances on loopback behind one nginx.

`python -m stack up|down|status|rolling-restart` (see `python -m stack --help`). Everything it
starts is recorded under the state directory (default .run/stack/) so `down` stops exactly that.
"""
