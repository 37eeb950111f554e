"""Lab stand-in for the stack's service images: one small server per service, `python3 service.py NAME`.

Each answers its health check and the API calls GeuseMaker makes, and logs requests in the format of the
real service (the lifecycle guard reads those logs). State lives on the service's data path, as the real
service keeps it, so a test can see whether a data directory was found empty (a fresh cluster or owner).
"""

import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SERVICE = sys.argv[1]
DATA = {
    "ollama": "/root/.ollama",
    "postgres": "/var/lib/postgresql/data",
    "n8n": "/home/node/.n8n",
    "qdrant": "/qdrant/storage",
    "crawl4ai": "/tmp/crawl4ai",
}[SERVICE]
PORT = {"ollama": 11434, "postgres": 5432, "n8n": 5678, "qdrant": 6333, "crawl4ai": 11235}[SERVICE]
STARTED = time.time()


def first_start() -> None:
    """Like initdb or a first n8n start: claim the data directory when it is empty, and say so."""
    os.makedirs(DATA, exist_ok=True)
    marker = os.path.join(DATA, "lab-identity")
    if not os.path.exists(marker):
        with open(marker, "w") as handle:
            handle.write(str(uuid.uuid4()))
        print(f"lab {SERVICE}: empty data directory {DATA}: initialised a new one", flush=True)
    else:
        print(f"lab {SERVICE}: found existing data in {DATA}", flush=True)


def models() -> list[str]:
    try:
        with open(os.path.join(DATA, "models.json")) as handle:
            return json.load(handle)
    except OSError:
        return []


LOADED: dict[str, float] = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def _json(self, code: int, doc: object) -> None:
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}

    def log_message(self, format: str, *args: object) -> None:  # access log in the real service's format
        ip = self.client_address[0]
        method, path = self.command, self.path
        code = args[1] if len(args) > 1 else "-"
        if SERVICE == "ollama":
            stamp = time.strftime("%Y/%m/%d - %H:%M:%S")
            line = f'[GIN] {stamp} | {code} |    1.2ms | {ip:>15} | {method:<7} "{path}"'
        elif SERVICE == "qdrant":
            line = f'INFO actix_web::middleware::logger: {ip} "{method} {path} HTTP/1.1" {code} 2 "-" "lab" 0.000100'
        else:
            line = f'INFO:     {ip}:40000 - "{method} {path} HTTP/1.1" {code}'
        print(line, flush=True)

    def do_GET(self) -> None:
        route = (SERVICE, self.path.split("?")[0])
        if route == ("ollama", "/"):
            body = b"Ollama is running"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif route == ("ollama", "/api/version"):
            self._json(200, {"version": "0.12.10"})
        elif route == ("ollama", "/api/tags"):
            self._json(200, {"models": [{"name": m, "model": m, "size": 2019393189} for m in models()]})
        elif route == ("ollama", "/api/ps"):
            on_gpu = os.path.exists("/usr/bin/nvidia-smi")  # the GPU hook put the driver's tools in
            self._json(
                200,
                {
                    "models": [
                        {"name": m, "model": m, "size": 3 * 2**30, "size_vram": 3 * 2**30 if on_gpu else 0}
                        for m in LOADED
                    ]
                },
            )
        elif route in {("n8n", "/healthz"), ("qdrant", "/readyz"), ("qdrant", "/healthz"), ("crawl4ai", "/health")}:
            self._json(200, {"status": "ok"})
        elif SERVICE == "qdrant" and self.path.startswith("/collections"):
            self._qdrant()
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = self.path.split("?")[0]
        doc = self._body()
        if SERVICE == "ollama" and path == "/api/pull":
            name = doc.get("model") or doc.get("name")
            known = models()
            if name not in known:
                with open(os.path.join(DATA, "models.json"), "w") as handle:
                    json.dump(known + [name], handle)
            # the lab counts model downloads here (on the data path: it outlives the machine)
            with open(os.path.join(DATA, "lab-pulls.log"), "a") as handle:
                handle.write(f"{'present' if name in known else 'downloaded'} {name}\n")
            self._json(200, {"status": "success"})
        elif SERVICE == "ollama" and path == "/api/show":
            name = doc.get("model") or doc.get("name")
            if name not in models():
                return self._json(404, {"error": f"model '{name}' not found"})
            self._json(200, {"modelfile": f"FROM {name}", "details": {"format": "gguf"}})
        elif SERVICE == "ollama" and path in {"/api/generate", "/api/chat", "/api/embed"}:
            name = doc.get("model")
            if name not in models():
                return self._json(404, {"error": f"model '{name}' not found"})
            LOADED[name] = time.time()
            if doc.get("stream", True) and path == "/api/generate":  # Ollama streams by default: one line a token
                lines = [{"model": name, "response": "ok", "done": False}, {"model": name, "done": True}]
                body = "".join(json.dumps(line) + "\n" for line in lines).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                return self.wfile.write(body)
            self._json(200, {"model": name, "response": "ok", "done": True})
        elif SERVICE == "n8n" and path.startswith("/webhook/"):
            with socket.create_connection((os.environ.get("DB_POSTGRESDB_HOST", "postgres"), 5432), 5) as db:
                db.sendall(f"EXECUTION {time.time()}\n".encode())
            self._json(200, {"message": "Workflow was started"})
        elif SERVICE == "qdrant" and path.startswith("/collections"):
            self._qdrant()
        elif SERVICE == "crawl4ai" and path == "/crawl":
            self._json(200, {"success": True, "results": []})
        else:
            self._json(404, {"error": "not found"})

    def _qdrant(self) -> None:
        if self.headers.get("api-key") != os.environ.get("QDRANT__SERVICE__API_KEY"):
            return self._json(401, {"status": {"error": "Must provide an API key"}})
        self._json(200, {"result": [], "status": "ok"})


class Postgres(socketserver.StreamRequestHandler):
    """Records the executions n8n stores (one line each), as execution_entity rows would."""

    def handle(self) -> None:
        line = self.rfile.readline().decode().strip()
        if line.startswith("EXECUTION "):
            with open(os.path.join(DATA, "executions"), "a") as handle:
                handle.write(line.split()[1] + "\n")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # as PID 1 it would otherwise ignore `docker stop`
    first_start()
    if SERVICE == "postgres":
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        socketserver.ThreadingTCPServer(("0.0.0.0", PORT), Postgres).serve_forever()
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()


if __name__ == "__main__":
    threading.current_thread().name = SERVICE
    main()
