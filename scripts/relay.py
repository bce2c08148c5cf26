"""A plain reverse proxy for the demo: ``python scripts/relay.py UPSTREAM PORT``.

It holds no key and changes nothing: every request (method, path, body, headers) goes to
UPSTREAM and every answer comes back byte for byte, as a fake "official" site relaying to the
genuine operator would. The verifier reaches it at its own address, which the operator does not
serve, so its identity verdict is `mismatch`; the receipts it passes through still verify with
`modelseal receipt verify`.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


def main() -> None:
    upstream, port = sys.argv[1].rstrip("/"), int(sys.argv[2])
    client = httpx.Client(timeout=120)

    class Relay(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            resp = client.request(self.command, upstream + self.path, content=body, headers=headers)
            self.send_response(resp.status_code)
            for k, v in resp.headers.items():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-encoding":
                    self.send_header(k, v)
            self.send_header("content-length", str(len(resp.content)))
            self.end_headers()
            self.wfile.write(resp.content)

        do_GET = do_POST = do_HEAD = _relay

    print(f"relay: http://127.0.0.1:{port} -> {upstream}", file=sys.stderr)
    ThreadingHTTPServer(("127.0.0.1", port), Relay).serve_forever()


if __name__ == "__main__":
    main()
