"""A raw HTTP/1.1 client for hostile tests: requests are bytes we build ourselves (nothing between
the test and the socket fixes a wrong Content-Length or a duplicated header), answers are parsed
with ``http.client.HTTPResponse``, and SigV4 signatures come from botocore's ``SigV4Auth``, so a
mutated body can be signed correctly and reach coffer's decoders and validators."""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from coffer_harness import ACCESS_KEY, REGION, SECRET_KEY

CREDENTIALS = Credentials(ACCESS_KEY, SECRET_KEY)


def sign(
    host: str,
    signing_name: str,
    body: bytes,
    headers: dict[str, str],
    *,
    method: str = "POST",
    path: str = "/",
    region: str = REGION,
) -> list[tuple[str, str]]:
    """The headers of a request signed for ``signing_name`` over ``body``: the given ones plus
    Host, X-Amz-Date and Authorization, in a list (so callers can duplicate or mangle them)."""
    request = AWSRequest(method=method, url=f"http://{host}{path}", data=body, headers=dict(headers))
    SigV4Auth(CREDENTIALS, signing_name, region).add_auth(request)
    out = [("Host", host)]
    out.extend((k, v) for k, v in request.headers.items())
    return out


def encode_header(name: str | bytes, value: str | bytes) -> bytes:
    n = name if isinstance(name, bytes) else name.encode("latin-1")
    v = value if isinstance(value, bytes) else value.encode("utf-8")
    return n + b": " + v + b"\r\n"


def build(
    method: bytes | str,
    path: bytes | str,
    headers: list[tuple[str | bytes, str | bytes]],
    body: bytes,
    *,
    content_length: bool = True,
    version: bytes = b"HTTP/1.1",
) -> bytes:
    """A request as bytes. ``content_length`` adds ``Content-Length: len(body)`` unless the
    headers already carry one."""
    m = method if isinstance(method, bytes) else method.encode()
    p = path if isinstance(path, bytes) else path.encode()
    lines = [m + b" " + p + b" " + version + b"\r\n"]
    has_cl = any(
        (n if isinstance(n, str) else n.decode("latin-1")).lower() == "content-length" for n, _ in headers
    )
    for n, v in headers:
        lines.append(encode_header(n, v))
    if content_length and not has_cl:
        lines.append(b"Content-Length: " + str(len(body)).encode() + b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines) + body


@dataclass
class Answer:
    """What came back: a status (0 when the connection closed or broke without one), headers,
    body, and whether the connection is still usable."""

    status: int
    headers: dict[str, str]
    body: bytes
    reusable: bool
    error: str = ""


class Connection:
    """One TCP connection to the server, reopened on demand."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.opened = 0

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def _ensure(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.opened += 1
        return self.sock

    def exchange(self, data: bytes, *, half_close: bool = False, method: str = "POST") -> Answer:
        """Send ``data`` and read one answer. ``half_close`` shuts our side down after sending
        (for requests that promise more bytes than they carry: the server sees the end instead of
        waiting). A socket timeout is raised as ``TimeoutError``: a hang is a failure."""
        sock = self._ensure()
        send_error = ""
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except TimeoutError:  # socket.timeout
            self.close()
            raise TimeoutError("timed out sending")
        except OSError as e:
            # The server may answer (413, 400) and close before reading everything we send.
            send_error = type(e).__name__
        resp = http.client.HTTPResponse(sock, method=method)
        try:
            resp.begin()
            body = resp.read()
        except TimeoutError:  # socket.timeout
            self.close()
            raise TimeoutError("timed out waiting for an answer")
        except (http.client.HTTPException, ConnectionError, OSError) as e:
            self.close()
            return Answer(0, {}, b"", False, send_error or type(e).__name__)
        headers = {k.lower(): v for k, v in resp.getheaders()}
        reusable = not resp.will_close and not half_close and not send_error
        if not reusable:
            self.close()
        return Answer(resp.status, headers, body, reusable, send_error)


def vm_rss_kib(pid: int) -> int:
    """The resident set size of ``pid`` in KiB, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")
