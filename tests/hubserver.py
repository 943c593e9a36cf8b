"""A minimal Hugging Face Hub stand-in on 127.0.0.1 for tests (``resolve`` endpoint only).

Serves ``/{repo_id}/resolve/{revision}/{filename}`` (HEAD and GET) from folders on
disk, with the headers huggingface_hub reads (X-Repo-Commit, ETag, Content-Length)
and its error codes (RepoNotFound, RevisionNotFound, EntryNotFound). It counts
requests so tests can prove a cache hit.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse


class HubServer:
    def __init__(self) -> None:
        self.repos: dict[str, dict[str, Path]] = {}  # repo_id -> revision -> folder
        self.requests: Counter[tuple[str, str]] = Counter()  # (method, path)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _serve(self, body: bool) -> None:
                path = unquote(urlparse(self.path).path)
                server.requests[(self.command, path)] += 1
                parts = path.strip("/").split("/")
                if "resolve" not in parts:
                    return self._error(404, "EntryNotFound", "unknown endpoint")
                i = parts.index("resolve")
                repo_id, revision, filename = (
                    "/".join(parts[:i]),
                    parts[i + 1],
                    "/".join(parts[i + 2 :]),
                )
                if repo_id not in server.repos:
                    return self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
                if revision not in server.repos[repo_id]:
                    return self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                f = server.repos[repo_id][revision] / filename
                if not f.is_file():
                    return self._error(404, "EntryNotFound", f"{filename} does not exist")
                data = f.read_bytes()
                self.send_response(200)
                commit = hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()
                self.send_header("X-Repo-Commit", commit)
                self.send_header("ETag", '"' + hashlib.sha256(data).hexdigest() + '"')
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", "application/octet-stream")
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def _error(self, code: int, err: str, msg: str) -> None:
                payload = json.dumps({"error": msg}).encode()
                self.send_response(code)
                self.send_header("X-Error-Code", err)
                self.send_header("X-Error-Message", msg)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command == "GET":
                    self.wfile.write(payload)

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def gets(self, suffix: str) -> int:
        return sum(n for (m, p), n in self.requests.items() if m == "GET" and p.endswith(suffix))

    def __enter__(self) -> HubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
