"""A stand-in for the two Auto Scaling API calls of an instance refresh, which moto's emulator does
not implement (StartInstanceRefresh, DescribeInstanceRefreshes): boto3 reaches it through
AWS_ENDPOINT_URL_AUTO_SCALING and speaks its real wire protocol (AWS Query, XML answers), so the
deploy CLI's calls, their parsing and its waiting are exercised as on AWS.

Each refresh reports the statuses of `script` in turn (the last one repeats), or `error` answers
StartInstanceRefresh with that AWS error code.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"


@dataclass
class RefreshApi:
    url: str = ""
    script: list[tuple[str, str]] = field(default_factory=lambda: [("Successful", "")])
    error: str | None = None
    started: list[dict[str, str]] = field(default_factory=list)
    described: int = 0


def _answer(action: str, result: str) -> str:
    return (
        f'<{action}Response xmlns="{NS}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>stand-in</RequestId></ResponseMetadata></{action}Response>"
    )


def _handler(api: RefreshApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _send(self, status: int, body: str) -> None:
            payload = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            action = form.get("Action")
            if action == "StartInstanceRefresh":
                if api.error:
                    self._send(
                        400,
                        f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type>'
                        f"<Code>{api.error}</Code><Message>stand-in refused</Message></Error>"
                        "<RequestId>stand-in</RequestId></ErrorResponse>",
                    )
                    return
                api.started.append(form)
                refresh_id = f"refresh-{len(api.started)}"
                self._send(
                    200, _answer(action, f"<InstanceRefreshId>{refresh_id}</InstanceRefreshId>")
                )
            elif action == "DescribeInstanceRefreshes":
                status, reason = api.script[min(api.described, len(api.script) - 1)]
                api.described += 1
                done = 100 if status == "Successful" else 50
                member = (
                    f"<InstanceRefreshId>{escape(form['InstanceRefreshIds.member.1'])}"
                    f"</InstanceRefreshId><AutoScalingGroupName>"
                    f"{escape(form['AutoScalingGroupName'])}</AutoScalingGroupName>"
                    f"<Status>{status}</Status><StatusReason>{escape(reason)}</StatusReason>"
                    f"<PercentageComplete>{done}</PercentageComplete>"
                )
                result = f"<InstanceRefreshes><member>{member}</member></InstanceRefreshes>"
                self._send(200, _answer(action, result))
            else:
                self._send(
                    400, f"<ErrorResponse><Error><Code>{action}</Code></Error></ErrorResponse>"
                )

    return Handler


@contextmanager
def refresh_api() -> Iterator[RefreshApi]:
    api = RefreshApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
