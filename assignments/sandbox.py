"""Each hand-in's kernel sealed off in a bubblewrap sandbox, for grading code you cannot trust.

nbgrader (the trusted grader) stays outside and alone writes scores and feedback. It starts every
hand-in's kernel through `SandboxedKernelManager`, which wraps the usual command
(`python -m ipykernel_launcher -f CONNECTION_FILE`) in

    timeout WALL  bwrap [namespaces, binds]  [setpriv: drop to nobody]  prlimit [limits]  python -m ipykernel_launcher ...

Inside, the kernel sees:
- read-only: the system folders (/usr and its links), the Python installation and the virtual
  environment, the packages installed in editable mode (coursekit), and the data folder;
- writable: an empty HOME, /tmp and working directory (each a private tmpfs of limited size: its
  writes never reach the grader's disk); the working directory holds, read-only, a copy of its own
  hand-in only (the notebook the student handed in and the assignment's non-notebook files);
- nothing else: not the course folder (source/, release/, gradebook.db, submitted/, autograded/),
  not the instructor's home, no network (its own empty network namespace: the kernel talks to the
  grader over Unix sockets in a folder bound in, ZMQ's `ipc` transport), no other process (its own
  PID namespace: when the kernel ends, everything it started is killed with it).
Limits: memory (address space), processes, CPU seconds, file size, and a wall-time limit for the
whole notebook on top of nbgrader's per-cell timeout. Run as root, the kernel is also dropped to
the `nobody` user; run as an ordinary user, it stays that user inside a user namespace.

`problem()` says why the sandbox cannot run here (`None` when it can); `grade.py autograde` uses it
to refuse with the install command.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, List, Unicode

INSTALL = ("install bubblewrap, e.g. `sudo apt-get install bubblewrap` (Debian, Ubuntu), "
           "`sudo dnf install bubblewrap` (Fedora), `sudo pacman -S bubblewrap` (Arch)")
NOBODY = 65534
HOME = "/home/student"               # the kernel's HOME inside the sandbox (a private tmpfs)
WORK = HOME + "/work"                # its working directory: the scratch copy of its hand-in
# environment variables a kernel gets from the grader; everything else is dropped (tokens, PYTHONPATH, ...)
KEEP_ENV = ("COURSEKIT_QUICK", "COURSEKIT_DEVICE", "MPLBACKEND", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
            "LANG", "LC_ALL", "TZ", "NBGRADER_EXECUTION", "PYTHONHASHSEED", "JPY_PARENT_PID", "JPY_SESSION_NAME")


def _executable(name: str) -> str | None:
    if name == "bwrap" and os.environ.get("GRADING_BWRAP"):     # a bwrap elsewhere (or none, for tests)
        return shutil.which(os.environ["GRADING_BWRAP"])
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/bin", "/bin", "/usr/sbin"]))


def data_dir() -> Path:
    """The data folder the kernels read (as coursekit.runtime finds it, without importing torch here)."""
    if os.environ.get("COURSEKIT_DATA"):
        return Path(os.environ["COURSEKIT_DATA"]).expanduser()
    spec = importlib.util.find_spec("coursekit")
    if spec and spec.submodule_search_locations:
        checkout = Path(list(spec.submodule_search_locations)[0]).parent
        if (checkout / "data" / "README.md").exists():
            return checkout / "data"
    return Path.home() / "coursekit-data"


def python_paths() -> list[Path]:
    """The folders a kernel needs to run this Python: the installation, the venv, editable packages."""
    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent}
    for dist in importlib.metadata.distributions():
        try:
            direct = json.loads(dist.read_text("direct_url.json") or "{}")
        except (ValueError, OSError):
            continue
        if not direct.get("dir_info", {}).get("editable"):
            continue
        names = (dist.read_text("top_level.txt") or "").split() or [dist.metadata["Name"].replace("-", "_")]
        for name in names:
            spec = importlib.util.find_spec(name)
            if spec and spec.submodule_search_locations:          # a package: its folder only
                paths.update(Path(p).resolve() for p in spec.submodule_search_locations)
            elif spec and spec.origin:                             # a module: its file only
                paths.add(Path(spec.origin).resolve())
    # a folder inside another one is bound with it
    return sorted(p for p in paths if not any(q in p.parents for q in paths))


class Sandbox:
    """The bwrap command line for one kernel. `course` is the folder the kernel must never see."""

    def __init__(self, course: Path, data: Path | None = None, memory_mb: int = 8192, processes: int = 256,
                 cpu_s: int = 1200, wall_s: int = 900, file_mb: int = 1024, tmp_mb: int = 1024):
        self.course = Path(course).resolve()
        self.data = (data or data_dir()).expanduser().resolve()
        self.limits = dict(memory_mb=memory_mb, processes=processes, cpu_s=cpu_s, wall_s=wall_s,
                           file_mb=file_mb, tmp_mb=tmp_mb)
        self.root = os.geteuid() == 0

    def read_only(self) -> list[Path]:
        paths = python_paths() + ([self.data] if self.data.exists() else [])
        for path in paths:
            if path == self.course or path in self.course.parents:
                raise RuntimeError(f"the sandbox would expose the course folder {self.course}: it lies inside "
                                   f"{path}, which kernels read. Keep the Python environment and the data "
                                   "outside the course folder (or the course folder outside them).")
        return paths

    def command(self, kernel_cmd: list[str], scratch: Path, sockets: Path, env: dict[str, str]) -> list[str]:
        """`kernel_cmd` wrapped: `scratch` becomes its working directory, `sockets` stays at its path."""
        lim = self.limits
        args = [_executable("timeout") or "timeout", "--signal=KILL", str(lim["wall_s"]), _executable("bwrap") or "bwrap",
                "--die-with-parent", "--new-session"]
        if self.root:   # privileged bwrap: no user namespace; setpriv below drops to nobody
            args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                     "--cap-add", "CAP_SETUID,CAP_SETGID"]
        else:           # an ordinary user: everything unshared, including the user namespace
            args += ["--unshare-all", "--unshare-user", "--disable-userns"]
        made: set[str] = {"/tmp", HOME}

        def parents(target: str) -> list[str]:
            out = []
            for parent in reversed(Path(target).parents):
                p = str(parent)
                if p != "/" and p not in made and p not in ("/usr",):
                    made.add(p)
                    out += ["--perms", "0755", "--dir", p]
            return out

        for name in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
            p = Path("/") / name
            if p.is_symlink():
                args += ["--symlink", os.readlink(p), str(p)]
            elif p.is_dir():
                args += ["--ro-bind", str(p), str(p)]
        args += ["--ro-bind", "/usr", "/usr", "--proc", "/proc", "--dev", "/dev"]
        for f in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/fonts", "/etc/mime.types"):
            if os.path.exists(f):
                args += parents(f) + ["--ro-bind", f, f]
        args += ["--perms", "01777", "--size", str(lim["tmp_mb"] << 20), "--tmpfs", "/tmp"]
        args += parents(HOME) + ["--perms", "0777", "--size", str(lim["tmp_mb"] << 20), "--tmpfs", HOME]
        for path in self.read_only():
            if not str(path).startswith("/usr/"):
                args += parents(str(path)) + ["--ro-bind", str(path), str(path)]
        args += parents(str(sockets)) + ["--bind", str(sockets), str(sockets)]
        # the working directory: a private tmpfs (writes never reach the grader's disk), holding the
        # hand-in's files read-only
        args += ["--perms", "0777", "--size", str(lim["tmp_mb"] << 20), "--tmpfs", WORK]
        for entry in sorted(scratch.iterdir()):
            args += ["--ro-bind", str(entry), f"{WORK}/{entry.name}"]
        args += ["--chdir", WORK, "--clearenv"]
        kernel_env = {k: v for k, v in env.items() if k in KEEP_ENV}
        kernel_env.update(HOME=HOME, USER="student", LOGNAME="student", TMPDIR="/tmp",
                          PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
                          COURSEKIT_DATA=str(self.data), COURSEKIT_CACHE=HOME + "/.cache/coursekit",
                          PYTHONDONTWRITEBYTECODE="1")
        for key, value in sorted(kernel_env.items()):
            args += ["--setenv", key, value]
        args.append("--")
        if self.root:
            args += [_executable("setpriv") or "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        args += [_executable("prlimit") or "prlimit", f"--as={lim['memory_mb'] << 20}", f"--nproc={lim['processes']}",
                 f"--cpu={lim['cpu_s']}", f"--fsize={lim['file_mb'] << 20}", "--core=0", "--"]
        return args + kernel_cmd


def problem() -> str | None:
    """Why kernels cannot be sandboxed on this machine, with what to do about it; None when they can."""
    if not sys.platform.startswith("linux"):
        return (f"the grading sandbox (bubblewrap) needs Linux; this is {sys.platform}. Grade on a Linux machine "
                "(or a Linux VM/container with bubblewrap installed)")
    if not _executable("bwrap"):
        return f"bubblewrap (`bwrap`) is not installed: {INSTALL}"
    for tool, package in (("prlimit", "util-linux"), ("setpriv", "util-linux"), ("timeout", "coreutils")):
        if not _executable(tool):
            return f"`{tool}` is missing: install {package}"
    with tempfile.TemporaryDirectory(prefix="grading-sandbox-check-") as tmp:
        scratch, sockets = Path(tmp, "work"), Path(tmp, "ipc")
        scratch.mkdir(), sockets.mkdir()
        probe = ("import os, sys; open('probe', 'w').write('ok'); "
                 "print('sees the course folder' if os.path.exists(sys.argv[1]) else open('probe').read())")
        cmd = Sandbox(Path(tmp, "course")).command([sys.executable, "-c", probe, str(Path(tmp, "course"))],
                                                    scratch, sockets, dict(os.environ))
        if os.geteuid() == 0:
            os.chmod(tmp, 0o755), os.chown(scratch, NOBODY, NOBODY)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"bubblewrap is installed but a trial sandbox failed ({err})"
        if proc.stdout.strip() == "sees the course folder":
            return "a trial sandbox could see the folder it must hide; the bubblewrap here does not isolate"
        if proc.returncode != 0 or proc.stdout.strip() != "ok":
            hint = ("user namespaces may be disabled: `sudo sysctl kernel.unprivileged_userns_clone=1`, or on "
                    "Ubuntu 24.04 `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`")
            return (f"bubblewrap is installed but a trial sandbox failed (exit status {proc.returncode}: "
                    f"{proc.stderr.strip()[-500:]}); {hint}")
    return None


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts each kernel in its own bubblewrap sandbox (see the module docstring).

    The kernel's working directory holds a scratch copy of its hand-in: `hand_in_files` (set by the
    grader), and the files of the folder nbgrader runs it in, except notebooks (that folder's
    notebook holds the restored hidden tests).
    """

    course = Unicode("", help="the course folder kernels must never see").tag(config=True)
    memory_mb = Integer(8192, help="address-space limit of each kernel process (MiB)").tag(config=True)
    processes = Integer(256, help="most processes and threads in one sandbox").tag(config=True)
    cpu_s = Integer(1200, help="CPU seconds a kernel may use").tag(config=True)
    wall_s = Integer(900, help="wall-clock seconds one notebook may run before its sandbox is killed").tag(config=True)
    file_mb = Integer(1024, help="largest file a kernel may write (MiB)").tag(config=True)
    hand_in_files = List(Unicode(), help="the student's own files, copied into the scratch folder")

    def _make_sandbox(self) -> Sandbox:
        return Sandbox(Path(self.course or os.getcwd()), memory_mb=self.memory_mb, processes=self.processes,
                       cpu_s=self.cpu_s, wall_s=self.wall_s, file_mb=self.file_mb)

    async def _async_pre_start_kernel(self, **kw):
        reason = problem_cached()
        if reason:
            raise RuntimeError(f"cannot sandbox the grading kernel: {reason}. Or grade without the sandbox: "
                               "`python grade.py autograde ASSIGNMENT --unsandboxed` (student code then runs "
                               "with your rights)")
        self._sandbox_dir = Path(tempfile.mkdtemp(prefix="grading-sandbox-"))
        os.chmod(self._sandbox_dir, 0o755)
        scratch, sockets = self._sandbox_dir / "work", self._sandbox_dir / "ipc"
        cwd = kw.get("cwd")
        if cwd and Path(cwd).is_dir():
            shutil.copytree(cwd, scratch, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        scratch.mkdir(exist_ok=True)
        sockets.mkdir()
        for f in self.hand_in_files:
            if Path(f).is_file():
                shutil.copy2(f, scratch / Path(f).name)
        if os.geteuid() == 0:   # the kernel runs as nobody: give it its scratch and socket folders
            for folder in (scratch, sockets):
                for path in [folder, *folder.rglob("*")]:
                    os.chown(path, NOBODY, NOBODY, follow_symlinks=False)
        self.transport = "ipc"                  # Unix sockets: the kernel has no network at all
        self.ip = str(sockets / "k")
        self.connection_file = str(sockets / "kernel.json")
        self.kernel_spec.interrupt_mode = "message"   # its own session: interrupt over the control channel
        self._sandbox = self._make_sandbox()
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)      # called once the connection file is written
        if os.geteuid() == 0:
            os.chown(self.connection_file, NOBODY, NOBODY)
        env = dict(os.environ)
        env.update(self._launch_args.get("env") or {})
        return self._sandbox.command(cmd, self._sandbox_dir / "work", self._sandbox_dir / "ipc", env)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and getattr(self, "_sandbox_dir", None):
            shutil.rmtree(self._sandbox_dir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


_PROBLEM: list[str | None] = []


def problem_cached() -> str | None:
    """`problem()`, checked once per grading process."""
    if not _PROBLEM:
        _PROBLEM.append(problem())
    return _PROBLEM[0]
