"""A real uvicorn server on a free loopback port, in a thread, for the HTTP and page tests."""

from __future__ import annotations

import threading
import time

import uvicorn


class LiveServer:
    def __init__(self, app):
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                    access_log=False, lifespan="on"))
        # Not a daemon: Python ends daemon threads at exit with pthread_exit, which aborts the whole process
        # ("terminate called without an active exception") if one is still in torch's C++ code then.
        self.thread = threading.Thread(target=self.server.run)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                self.server.should_exit = True
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
