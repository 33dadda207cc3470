"""harness - start the real Tessera binaries on loopback for integration tests

A Cluster owns one temp root (under /dev/shm), the keys made there with
`tessera keygen`, and every process it starts: one coordinator (ephemeral
ports read back from its --ready-file) and any number of agents, each with
--ready-file and --log-file and its stdout/stderr captured (sanitizer reports
go to stderr). CLI calls go through Cluster.cli(), never PATH.

Teardown (Cluster.close) creates ROOT/release (hung test shards poll for it),
sends SIGTERM to agents then the coordinator, waits, SIGKILLs stragglers,
kills shard processes left behind under the root, and scans every log for
ERROR lines and sanitizer reports. It returns the problems found; the pytest
fixture in conftest.py fails the test on any and keeps the root for a look.

Temp roots go under $TSR_IT_TMP if set, else /dev/shm. Binary paths come
from CMake through TSR_COORDINATOR_BIN, TSR_AGENT_BIN and TSR_CLI_BIN
(tests/integration/CMakeLists.txt). Every child gets PR_SET_PDEATHSIG, so
nothing outlives a test process that ctest killed on TIMEOUT.
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

HEARTBEAT_MS = 200  # daemons' --heartbeat-ms in liveness tests; liveness is 3
TERM_GRACE_S = 15.0  # SIGTERM -> exit; longer means a hang (reported)
CLI_TIMEOUT_S = 90.0  # any one CLI call

# Always a failure, whatever the test expects.
SANITIZER_RE = re.compile(
    r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|runtime error"
)
# An error-level log line: czmq's zsys sink prints "E: (ident) date time text",
# and anything that spells ERROR.
ERROR_RE = re.compile(r"^E: |\bERROR\b", re.MULTILINE)


_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: SIGKILL this child when the test process dies, so a ctest
    TIMEOUT (which kills pytest before any teardown) leaves no daemons."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def binary(kind):
    """Absolute path of a product binary from the environment CMake sets."""
    variable = {
        "coordinator": "TSR_COORDINATOR_BIN",
        "agent": "TSR_AGENT_BIN",
        "cli": "TSR_CLI_BIN",
    }[kind]
    path = os.environ.get(variable)
    if not path:
        raise RuntimeError(f"{variable} is not set: run the integration tests through ctest")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{variable}={path} is not an executable (not built?)")
    return path


def source_dir():
    """The repository root (for examples/)."""
    path = os.environ.get("TSR_SOURCE_DIR")
    if path:
        return path
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def wait_until(predicate, timeout_s, what, interval_s=0.05):
    """Poll `predicate` until it returns a truthy value (returned) or the
    deadline passes (AssertionError naming `what`). Not a sleep: it returns
    as soon as the condition holds."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:.1f}s waiting for {what}")
        time.sleep(interval_s)


def holds_for(predicate, duration_s, what, interval_s=0.1):
    """A negative check needs a window: `predicate` must stay true for
    `duration_s` (AssertionError naming `what` the moment it does not)."""
    deadline = time.monotonic() + duration_s
    while True:
        if not predicate():
            raise AssertionError(f"no longer true: {what}")
        if time.monotonic() >= deadline:
            return
        time.sleep(interval_s)


def read_kv_file(path):
    """key=value lines -> dict; None if the file does not exist yet."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError:
        return None
    values = {}
    for line in text.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def endpoint_port(endpoint):
    """tcp://127.0.0.1:43121 -> 43121"""
    match = re.fullmatch(r"tcp://[^:]+:(\d+)", endpoint)
    assert match, f"not a tcp endpoint with a port: {endpoint!r}"
    return int(match.group(1))


def tail(path, lines=40):
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            return "".join(stream.readlines()[-lines:])
    except FileNotFoundError:
        return "(no file)\n"


def shard_index(result_id):
    """'default/3' -> 3; a single-shard job's id has no index -> 0."""
    match = re.search(r"/(\d+)$", result_id)
    return int(match.group(1)) if match else 0


def scrubbed_env(**overrides):
    """Our environment without the CLI's TESSERA_* defaults and a cache home
    from the caller; `overrides` with a None value remove a variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    env.pop("XDG_CACHE_HOME", None)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def kernel_port_endpoint():
    """tcp://127.0.0.1:PORT with a port the kernel picked at random from its
    ephemeral range (free at the time of the call). For tests that restart a
    coordinator on the same port: czmq resolves "tcp://127.0.0.1:*" to the
    lowest free port from 49152 up, which every other process binding "*"
    on this machine (parallel ctest, other test suites) races for in the
    window between the kill and the restart; a random port does not."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def public_key(path):
    """The Z85 public key in a czmq certificate file (KEY.pub or KEY)."""
    with open(path, encoding="utf-8") as stream:
        match = re.search(r'public-key\s*=\s*"([^"]{40})"', stream.read())
    assert match, f"no public-key in {path}"
    return match.group(1)


def zmtp_null_greeting(endpoint, timeout_s=5.0):
    """Connect to a ZMTP endpoint as a plaintext (NULL mechanism) peer and
    send a ZMTP 3.0 greeting. Returns (bytes received, closed by the peer)."""
    host, port = endpoint[len("tcp://"):].rsplit(":", 1)
    greeting = (b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0")
                + b"\x00" + b"\0" * 31)
    received = b""
    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        sock.sendall(greeting)
        sock.settimeout(timeout_s)
        try:
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    return received, True
                received += chunk
        except (socket.timeout, ConnectionResetError):
            return received, False


def closed_port():
    """A loopback port nobody listens on, held bound (not listening) by the
    returned socket so no one else can take it: connects get refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


class Daemon:
    """One started coordinator or agent process."""

    def __init__(self, cluster, name, argv, log_path, ready_path, allow_errors=False):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.out_path = os.path.join(cluster.root, f"{name}.out")
        self.ready_path = ready_path
        self.allow_errors = allow_errors  # a test that expects this one to log errors
        self.killed = False  # the test killed it on purpose (SIGKILL)
        with open(self.out_path, "ab") as out:
            out.write(("$ " + " ".join(argv) + "\n").encode())
            out.flush()
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cluster.root,
                env=cluster.env,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.pid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def ready(self, timeout_s=30.0, keys=()):
        """Wait for the ready file (with all `keys`); fail fast if the process exits."""

        def check():
            values = read_kv_file(self.ready_path)
            if values is not None and all(k in values for k in keys):
                return values
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode} before it was ready\n"
                    f"--- {self.log_path}\n{tail(self.log_path)}"
                    f"--- {self.out_path}\n{tail(self.out_path)}"
                )
            return None

        return wait_until(check, timeout_s, f"{self.name} ready file {self.ready_path}")

    def signal(self, signum):
        os.kill(self.pid, signum)

    def kill9(self):
        self.killed = True
        self.signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, problems):
        """SIGTERM, wait, SIGKILL; a clean exit is 0 within TERM_GRACE_S."""
        if not self.alive():
            if not self.killed and self.proc.returncode != 0:
                problems.append(f"{self.name} had exited with {self.proc.returncode}")
            return
        try:
            self.signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            self.signal(signal.SIGTERM)
            code = self.proc.wait(timeout=TERM_GRACE_S)
            if code != 0:
                problems.append(f"{self.name} exited with {code} after SIGTERM (want 0)")
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
            problems.append(f"{self.name} did not exit within {TERM_GRACE_S}s of SIGTERM")

    def scan(self, problems):
        for path in (self.log_path, self.out_path):
            try:
                with open(path, encoding="utf-8", errors="replace") as stream:
                    text = stream.read()
            except FileNotFoundError:
                continue
            for line in text.splitlines():
                if SANITIZER_RE.search(line):
                    problems.append(f"{path}: sanitizer: {line.strip()}")
                elif ERROR_RE.search(line) and not self.allow_errors:
                    problems.append(f"{path}: error line: {line.strip()}")


class Coordinator(Daemon):
    """A started coordinator; endpoints and key from its ready file."""

    def __init__(self, cluster, name, data_dir, agents_ep, clients_ep, extra):
        self.data_dir = data_dir
        ready_path = os.path.join(cluster.root, f"{name}.ready")
        log_path = os.path.join(cluster.root, f"{name}.log")
        argv = [
            binary("coordinator"),
            "--data", data_dir,
            "--agents", agents_ep,
            "--clients", clients_ep,
            "--heartbeat-ms", str(cluster.heartbeat_ms),
            "--ready-file", ready_path,
            "--log-file", log_path,
            "--log-level", cluster.log_level,
        ] + list(extra)
        super().__init__(cluster, name, argv, log_path, ready_path)
        values = self.ready(keys=("agents", "clients", "key"))
        self.agents_endpoint = values["agents"]
        self.clients_endpoint = values["clients"]
        self.public_key = values["key"]
        self.server_key = os.path.join(data_dir, "keys", "coordinator.pub")
        assert os.path.exists(self.server_key), f"no {self.server_key} after start"

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as stream:
                return stream.read()
        except FileNotFoundError:
            return ""


class Agent(Daemon):
    def __init__(self, cluster, name, key, cpus, labels, coordinator, allow_errors, extra):
        self.agent_name = name
        self.key = key
        self.cpus = cpus
        self.data_dir = os.path.join(cluster.root, f"{name}.data")
        ready_path = os.path.join(cluster.root, f"{name}.ready")
        log_path = os.path.join(cluster.root, f"{name}.log")
        argv = [
            binary("agent"),
            "--coordinator", coordinator.agents_endpoint,
            "--server-key", coordinator.server_key,
            "--key", key,
            "--data", self.data_dir,
            "--name", name,
            "--heartbeat-ms", str(cluster.heartbeat_ms),
            "--ready-file", ready_path,
            "--log-file", log_path,
            "--log-level", cluster.log_level,
        ]
        if cpus is not None:
            argv += ["--cpus", cpus]
        if labels:
            argv += ["--labels", labels]
        argv += list(extra)
        super().__init__(cluster, name, argv, log_path, ready_path, allow_errors)


class Cluster:
    """A temp root with keys, a coordinator, agents and a client identity."""

    def __init__(self, test_name, heartbeat_ms=HEARTBEAT_MS):
        base = os.environ.get("TSR_IT_TMP") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", test_name)[:60]
        self.root = tempfile.mkdtemp(prefix=f"tsr-it-{safe}-", dir=base)
        self.heartbeat_ms = heartbeat_ms
        self.log_level = os.environ.get("TSR_IT_LOG_LEVEL", "info")
        self.home = self.path("home")
        self.workspace = self.path("ws")  # cwd of CLI calls: a small, stable workspace
        os.makedirs(self.home)
        os.makedirs(self.workspace)
        self.env = scrubbed_env(HOME=self.home)
        self.daemons = []
        self.coordinator = None
        self.client_key = None
        self.cli_log = open(self.path("cli.log"), "a", encoding="utf-8")
        self.cli_problems = []

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    # ---------------------------------------------------------------- keys

    def keygen(self, name):
        """`tessera keygen` into ROOT/keys/NAME (+.pub); returns the secret path."""
        os.makedirs(self.path("keys"), exist_ok=True)
        key = self.path("keys", name)
        result = self.cli("keygen", key, client=False)
        assert result.returncode == 0, f"keygen {name} failed:\n{result.stderr}"
        assert os.path.exists(key) and os.path.exists(key + ".pub"), f"keygen wrote no {key}(.pub)"
        mode = os.stat(key).st_mode & 0o777
        assert mode == 0o600, f"secret key {key} has mode {mode:o}, want 600"
        return key

    def allow(self, data_dir, channel, key):
        """Copy KEY.pub into DATA/allow/CHANNEL/ (channel: agents|clients)."""
        directory = os.path.join(data_dir, "allow", channel)
        os.makedirs(directory, exist_ok=True)
        shutil.copy(key + ".pub", os.path.join(directory, os.path.basename(key) + ".pub"))

    # ---------------------------------------------------------------- daemons

    def start_coordinator(self, allow_agents=(), allow_clients=(), agents_ep=None,
                          clients_ep=None, data_dir=None, name="coordinator", extra=()):
        """Start a coordinator on DATA (default ROOT/coordinator.data) with the
        given keys allowed, on ephemeral loopback ports unless told; waits for
        its ready file. A client key is made on first use and allowed."""
        data_dir = data_dir or self.path("coordinator.data")
        if self.client_key is None:
            self.client_key = self.keygen("client")
        for key in allow_agents:
            self.allow(data_dir, "agents", key)
        for key in list(allow_clients) + [self.client_key]:
            self.allow(data_dir, "clients", key)
        coordinator = Coordinator(
            self, name, data_dir,
            agents_ep or "tcp://127.0.0.1:*",
            clients_ep or "tcp://127.0.0.1:*",
            extra,
        )
        self.daemons.append(coordinator)
        self.coordinator = coordinator
        return coordinator

    def start_agent(self, name, key, cpus=None, labels=None, wait_ready=True,
                    allow_errors=False, extra=()):
        agent = Agent(self, name, key, cpus, labels, self.coordinator, allow_errors, extra)
        self.daemons.append(agent)
        if wait_ready:
            values = agent.ready(keys=("name",))
            assert values["name"] == name, f"agent ready file says name={values['name']}"
        return agent

    # ---------------------------------------------------------------- CLI

    def client_args(self, key=None):
        coordinator = self.coordinator
        return [
            "--coordinator", coordinator.clients_endpoint,
            "--server-key", coordinator.server_key,
            "--key", key or self.client_key,
        ]

    def cli(self, *args, client=True, key=None, cwd=None, env=None, timeout_s=CLI_TIMEOUT_S,
            expect_errors=False):
        """Run `tessera [client options] ARGS`; returns CompletedProcess (text).
        Sanitizer reports on stderr are recorded as problems always; error
        log lines unless `expect_errors`."""
        argv = [binary("cli")]
        if client:
            argv += self.client_args(key)
        argv += list(args)
        started = time.monotonic()
        try:
            result = subprocess.run(
                argv, cwd=cwd or self.workspace, env=env or self.env, text=True,
                stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout_s,
                preexec_fn=_die_with_parent,
            )
        except subprocess.TimeoutExpired as expired:
            self.cli_log.write(f"$ {' '.join(argv)}\nTIMED OUT after {timeout_s}s\n"
                               f"{expired.stdout}\n{expired.stderr}\n")
            raise AssertionError(f"`{' '.join(argv)}` did not finish within {timeout_s}s")
        result.elapsed_s = time.monotonic() - started
        self.cli_log.write(f"$ {' '.join(argv)}\n-> exit {result.returncode} in "
                           f"{result.elapsed_s:.2f}s\n--- stdout\n{result.stdout}"
                           f"--- stderr\n{result.stderr}\n")
        self.cli_log.flush()
        for line in result.stderr.splitlines():
            if SANITIZER_RE.search(line):
                self.cli_problems.append(f"tessera {' '.join(args)}: sanitizer: {line}")
            elif ERROR_RE.search(line) and not expect_errors:
                self.cli_problems.append(f"tessera {' '.join(args)}: error line: {line}")
        return result

    def cli_json(self, *args, **kwargs):
        result = self.cli(*args, **kwargs)
        assert result.returncode == 0, (
            f"tessera {' '.join(args)} exited {result.returncode}\n{result.stdout}{result.stderr}"
        )
        try:
            return json.loads(result.stdout)
        except ValueError as error:
            raise AssertionError(f"tessera {' '.join(args)} printed no JSON ({error}):\n"
                                 f"{result.stdout}")

    def agents(self):
        """`tessera agents --json` -> list of agent objects."""
        listing = self.cli_json("agents", "--json")
        assert isinstance(listing.get("agents"), list), f"no agents list in {listing}"
        return listing["agents"]

    def agent_names(self):
        return sorted(agent["name"] for agent in self.agents())

    def wait_agents(self, names, timeout_s=20.0):
        """Wait until exactly `names` are listed (and not draining)."""
        want = sorted(names)
        return wait_until(lambda: self.agent_names() == want, timeout_s,
                          f"agents {want} listed (last: {self.agent_names()})", 0.1)

    def run(self, *args, json_path=None, expect_exit=0, **kwargs):
        """`tessera run [--json FILE] ARGS`: checks the exit code, returns
        (CompletedProcess, summary dict or None)."""
        argv = ["run"]
        if json_path:
            argv += ["--json", json_path]
        result = self.cli(*argv, *args, **kwargs)
        assert result.returncode == expect_exit, (
            f"tessera {' '.join(argv + list(args))}: exit {result.returncode}, want "
            f"{expect_exit}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
        )
        summary = None
        if json_path:
            with open(json_path, encoding="utf-8") as stream:
                summary = json.load(stream)
        return result, summary

    def popen_run(self, *args, json_path):
        """Start `tessera run --json FILE ARGS` in the background (Popen)."""
        argv = [binary("cli")] + self.client_args() + ["run", "--json", json_path] + list(args)
        self.cli_log.write(f"$ {' '.join(argv)} &\n")
        return subprocess.Popen(argv, cwd=self.workspace, env=self.env, text=True,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, preexec_fn=_die_with_parent)

    def finish_run(self, proc, json_path, timeout_s=CLI_TIMEOUT_S):
        try:
            stdout, stderr = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            raise AssertionError(f"tessera run did not finish within {timeout_s}s\n{stdout}{stderr}")
        self.cli_log.write(f"-> exit {proc.returncode}\n--- stdout\n{stdout}--- stderr\n{stderr}\n")
        self.cli_log.flush()
        for line in stderr.splitlines():
            if SANITIZER_RE.search(line) or ERROR_RE.search(line):
                self.cli_problems.append(f"tessera run: {line}")
        summary = None
        if os.path.exists(json_path):
            with open(json_path, encoding="utf-8") as stream:
                summary = json.load(stream)
        return proc.returncode, stdout, stderr, summary

    # ---------------------------------------------------------------- teardown

    def leftover_processes(self):
        """Our processes (not daemons we track) running under the root: by cwd
        or by a command line naming it (test shards embed root paths)."""
        found = []
        own_uid = os.getuid()
        tracked = {daemon.pid for daemon in self.daemons}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            pid = int(entry)
            if pid == os.getpid() or pid in tracked:
                continue
            try:
                if os.stat(f"/proc/{pid}").st_uid != own_uid:
                    continue
                with open(f"/proc/{pid}/cmdline", "rb") as stream:
                    cmdline = stream.read().replace(b"\0", b" ").decode(errors="replace")
                try:
                    cwd = os.readlink(f"/proc/{pid}/cwd")
                except OSError:
                    cwd = ""
            except OSError:
                continue
            if not cmdline:  # zombie or kernel thread
                continue
            if cwd.startswith(self.root) or self.root in cmdline:
                found.append((pid, cmdline.strip()))
        return found

    def close(self):
        """Stop everything; returns a list of problems (empty = clean)."""
        problems = []
        with open(self.path("release"), "w", encoding="utf-8"):
            pass
        agents = [d for d in self.daemons if isinstance(d, Agent)]
        others = [d for d in self.daemons if not isinstance(d, Agent)]
        for daemon in agents + others:
            daemon.stop(problems)
        try:
            wait_until(lambda: not self.leftover_processes(), 3.0, "shard processes to exit")
        except AssertionError:
            for pid, cmdline in self.leftover_processes():
                problems.append(f"left running after teardown: pid {pid}: {cmdline}")
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        for daemon in self.daemons:
            daemon.scan(problems)
        problems += self.cli_problems
        self.cli_log.close()
        return problems

    def describe(self):
        """Tails of every log, for a failure report."""
        parts = []
        for daemon in self.daemons:
            for path in (daemon.log_path, daemon.out_path):
                parts.append(f"--- {path}\n{tail(path)}")
        parts.append(f"--- {self.path('cli.log')}\n{tail(self.path('cli.log'), 60)}")
        return "".join(parts)
