"""``formsengine serve --workers N``: several server processes sharing one listening socket.

The parent binds the address once, starts N worker processes (each a ``formsengine serve``
of its own, given the socket's file descriptor) and watches them: a worker that dies is
started again (at most ``MAX_RESTARTS`` times a minute, after which the parent stops them
all and fails), and SIGTERM or SIGINT to the parent stops every worker before it exits.
The kernel hands each new connection to one of the processes waiting on the socket.

Each worker keeps its own connections to the database; SQLite's lock (and its busy
timeout) orders the writers of different processes. Things that must happen once — the
warning about a readable database, anchoring the audit chain — stay in the parent.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from types import FrameType

MAX_RESTARTS = 5  # in any 60 seconds
RESTART_WINDOW = 60.0
PARENT_VARIABLE = "FORMSENGINE_WORKER_PARENT"  # set for each worker: the supervisor's pid
STOP_WAIT = 20.0  # seconds a worker has to finish after SIGTERM before it is killed


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """The listening socket, bound once in the parent and inherited by every worker."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family, backlog=backlog)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """Starts and watches the worker processes."""

    def __init__(self, command: Sequence[str], count: int, sock: socket.socket, *,
                 env: dict[str, str] | None = None,
                 say: Callable[[str], None] = lambda message: print(message, file=sys.stderr)):
        self.command = [*command, "--listen-fd", str(sock.fileno())]
        self.count = count
        self.sock = sock
        self.env = env
        self.say = say
        self.workers: dict[int, subprocess.Popen[bytes]] = {}
        self.restarts: deque[float] = deque()
        self.stopping = False

    def start(self, slot: int) -> None:
        env = dict(os.environ if self.env is None else self.env)
        env[PARENT_VARIABLE] = str(os.getpid())
        self.workers[slot] = subprocess.Popen(  # nosec B603 (our own command, no shell)
            self.command, pass_fds=(self.sock.fileno(),), env=env)

    def _stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self, poll: float = 0.5) -> int:
        """Start the workers and watch them until a stop signal; the exit status."""
        previous = {s: signal.signal(s, self._stop_signal)
                    for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for slot in range(self.count):
                self.start(slot)
            self.say(f"{self.count} worker processes started "
                     f"(process ids {', '.join(str(p.pid) for p in self.workers.values())})")
            while not self.stopping:
                time.sleep(poll)
                for slot, proc in list(self.workers.items()):
                    code = proc.poll()
                    if code is None or self.stopping:
                        continue
                    now = time.monotonic()
                    while self.restarts and now - self.restarts[0] > RESTART_WINDOW:
                        self.restarts.popleft()
                    if len(self.restarts) >= MAX_RESTARTS:
                        self.say(f"error: worker processes keep stopping ({MAX_RESTARTS} "
                                 f"restarts in {RESTART_WINDOW:.0f} s; the last exit "
                                 f"status was {code}); stopping the server")
                        return 1
                    self.restarts.append(now)
                    self.start(slot)
                    self.say(f"worker process {proc.pid} stopped (exit status {code}); "
                             f"started {self.workers[slot].pid} in its place")
            return 0
        finally:
            self.stop()
            for s, handler in previous.items():
                signal.signal(s, handler)

    def stop(self) -> None:
        """SIGTERM every worker, wait for them, kill those still running."""
        self.stopping = True
        for proc in self.workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT
        for proc in self.workers.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.sock.close()


def exit_with_parent(interval: float = 1.0) -> threading.Thread:
    """In a worker: end this process when the parent is gone (killed with SIGKILL, say, so
    that it could not stop its workers), instead of serving on as an orphan nobody
    watches."""
    try:  # the parent's own word: it may have died before this process got here
        parent = int(os.environ.get(PARENT_VARIABLE, ""))
    except ValueError:
        parent = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                print(f"worker process {os.getpid()}: the server's first process is gone; "
                      "stopping", file=sys.stderr, flush=True)
                os._exit(1)
            time.sleep(interval)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def worker_command(*, threads: int, connection_limit: int, channel_timeout: int,
                   max_request_body_size: int, trusted_proxy: str | None, log_level: str,
                   log_format: str) -> list[str]:
    """The command line of one worker: ``formsengine serve`` with the parent's options (the
    database, configuration and definitions reach it through the environment)."""
    command = [sys.executable, "-m", "formsengine.cli", "serve",
               "--threads", str(threads), "--connection-limit", str(connection_limit),
               "--channel-timeout", str(channel_timeout),
               "--max-request-body-size", str(max_request_body_size),
               "--log-level", log_level, "--log-format", log_format]
    if trusted_proxy:
        command += ["--trusted-proxy", trusted_proxy]
    return command


def worker_environment(database: str, config_file: str | None,
                       definitions_dir: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["FORMSENGINE_DB"] = database
    for name, value in (("FORMSENGINE_CONFIG", config_file),
                        ("FORMSENGINE_DEFINITIONS", definitions_dir)):
        if value:
            env[name] = value
        else:
            env.pop(name, None)
    return env
