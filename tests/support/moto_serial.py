"""moto's server answering one request at a time; in the moto venv: moto_serial.py HOST PORT.

moto's backends are not safe for concurrent requests (its documentation says so), while its
`moto_server` command serves each request on a thread of its own: under Terraform's parallel
calls on a loaded machine, an apply then met resources it had itself just created
(DuplicateTargetGroupName, InvalidPermission.Duplicate). Served serially (HTTP/1.0, a
connection a request) the calls queue instead.
"""

import os
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))  # moto builds some URLs (e.g. S3's) from it
run_simple(host, port, DomainDispatcherApplication(create_backend_app), threaded=False)
