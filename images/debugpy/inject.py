# Runs in the injector sidecar (CAP_SYS_PTRACE, the target's pid and network
# namespaces) as `python3 -c <this file> PID PORT TOKEN MIN_PYTHON`, started by
# src/debug/debugpy.ts. It checks the target, then waits for the holder sidecar
# (found by TOKEN on its command line), whose debugpy the target imports
# through /proc/<holder>/root, and has gdb call debugpy's attach library in
# the target to run the code that loads it. It reports on stdout, one JSON object a line:
#   {"event": "target", "uid": U, "gid": G, "python": "3.11"}  start the holder as U:G
#   {"event": "ready", "reused": bool}                          debugpy listens on PORT
#   {"error": CODE, ...}                                        nothing was injected
# Only Python's standard library: it runs with the image's python3.
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

pid, port, token, minimum = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
if pid <= 0 or not 0 < port < 65536:
    raise SystemExit("bad arguments")

# Everything started here is reaped here, orphans too: in the target's pid
# namespace they would go to its PID 1, which may never reap them.
PR_SET_CHILD_SUBREAPER = 36
ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def say(**fields):
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def children():
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == os.getpid():
                out.append(int(name))
    return out


def finish(code):
    deadline = time.time() + 10
    while True:
        try:
            done, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if done:
            continue
        if time.time() > deadline:
            for child in children():
                try:
                    os.kill(child, signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.05)
    sys.exit(code)


def fail(code, **fields):
    say(error=code, **fields)
    finish(3)


def version_tuple(text):
    return tuple(int(x) for x in text.split("."))


# The target: present, ptrace allowed, a Python interpreter, new enough.
try:
    exe = os.readlink("/proc/%d/exe" % pid)
except FileNotFoundError:
    fail("nopid")
except PermissionError as e:
    fail("ptrace", detail=str(e))
try:
    # Opening /proc/PID/mem takes the same permission check as a ptrace attach.
    os.close(os.open("/proc/%d/mem" % pid, os.O_RDONLY))
except PermissionError as e:
    fail("ptrace", detail=str(e))

with open("/proc/%d/status" % pid) as f:
    status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
tracer = int(status.get("TracerPid", "0").strip() or 0)
if tracer:
    fail("traced", tracer=tracer)

version = None
m = re.search(r"python(\d+\.\d+)", os.path.basename(exe))
if not m:
    try:
        with open("/proc/%d/maps" % pid) as f:
            m = re.search(r"libpython(\d+\.\d+)", f.read())
    except OSError:
        m = None
if m:
    version = m.group(1)
elif not os.path.basename(exe).startswith("python"):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    fail("notpython", exe=exe, command=cmdline)
if version and version_tuple(version) < version_tuple(minimum):
    fail("tooold", python=version, minimum=minimum)


# The port: free, or already served by a debugpy that this process started.
def listener(port):
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                return cols[9]
    return None


def socket_owner(inode):
    wanted = "socket:[%s]" % inode
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % name):
                if os.readlink("/proc/%s/fd/%s" % (name, fd)) == wanted:
                    return int(name)
        except OSError:
            continue
    return None


def process_info(p):
    try:
        with open("/proc/%d/cmdline" % p, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        with open("/proc/%d/stat" % p) as f:
            ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        return cmd, ppid
    except OSError:
        return "", 0


inode = listener(port)
if inode:
    owner = socket_owner(inode)
    cmd, ppid = process_info(owner) if owner else ("", 0)
    if ppid == pid and "debugpy" in cmd and "adapter" in cmd:
        say(event="ready", reused=True, python=version)
        finish(0)
    fail("portinuse", port=port, owner=owner, command=cmd)

# The target reads the holder's files as its file system user.
uid = int(status["Uid"].split()[3])
gid = int(status["Gid"].split()[3])
say(event="target", uid=uid, gid=gid, python=version)

# The holder: our image's debugpy, seen through the holder's root.
deadline = time.time() + 120
holder = None
while holder is None:
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            try:
                with open("/proc/%s/cmdline" % name, "rb") as f:
                    if token.encode() in f.read().split(b"\0"):
                        holder = int(name)
                        break
            except OSError:
                pass
    if holder is None:
        if time.time() > deadline:
            fail("noholder")
        time.sleep(0.05)

import importlib.util  # noqa: E402

spec = importlib.util.find_spec("debugpy")
if not spec or not spec.origin:
    fail("nodebugpy")
package = os.path.dirname(spec.origin)
attach_libs = []
for folder, _, files in os.walk(os.path.join(package, "_vendored", "pydevd", "pydevd_attach_to_process")):
    attach_libs += [os.path.join(folder, f) for f in files if re.match(r"attach(_linux_amd64)?\.so$", f)]
if not attach_libs:
    fail("nodebugpy")
# The target reads the same files through the holder's root.
shared = "/proc/%d/root" % holder
server_dir = shared + os.path.join(package, "server")
attach_lib = shared + attach_libs[0]

# What runs in the target, under gdb: it only starts a thread and returns. The
# thread waits until gdb has detached, then loads debugpy, which starts its
# adapter process. Forking while gdb is in the middle of a call into the
# process left a thread stopped holding Python's GIL here (a hang); so the
# call itself must not fork.
setup = {"mode": "listen", "address": ["127.0.0.1", port], "wait_for_client": False, "log_to": None, "adapter_access_token": None}
source = """
import sys, threading
def _container_sidecar_debugpy():
    import time
    deadline = time.time() + 60
    while time.time() < deadline:
        with open("/proc/self/status") as f:
            if "\\nTracerPid:\\t0\\n" in f.read():
                break
        time.sleep(0.02)
    sys.path.insert(0, %r)
    try:
        import attach_pid_injected
    finally:
        del sys.path[0]
    attach_pid_injected.attach(%r)
threading.Thread(target=_container_sidecar_debugpy, name="container-sidecar-debugpy", daemon=True).start()
""" % (server_dir, setup)
# Bytes as numbers: nothing in the C string gdb parses needs quoting.
command = "exec(bytes([%s]).decode())" % ",".join(str(b) for b in source.encode())

gdb = shutil.which("gdb")
if not gdb:
    fail("nogdb")
library = os.path.splitext(os.path.basename(attach_lib))[0]
argv = [
    gdb, "--nw", "--nh", "--nx", "--batch",
    # gdb's default sysroot enters the target's mount namespace and is refused.
    "-iex", "set sysroot /proc/%d/root" % pid,
    "--pid", str(pid),
    "-ex", "set scheduler-locking off",
    "-ex", "set architecture auto",
    "-ex", 'call (void*)dlopen("%s", 2)' % attach_lib,
    "-ex", "sharedlibrary %s" % library,
    "-ex", 'call (int)DoAttach(0, "%s", 0)' % command,
]
try:
    run = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
    output = run.stdout.decode("utf-8", "replace")
    returncode = run.returncode
except subprocess.TimeoutExpired as e:
    output = (e.stdout or b"").decode("utf-8", "replace")
    returncode = -1
tail = "\n".join(line for line in output.strip().splitlines()[-12:] if "DoAttach" not in line)
if re.search(r"ptrace: Operation not permitted|Could not attach to process", output):
    fail("ptrace", detail=tail)
# $1 is dlopen's handle, $2 what DoAttach returned (0: the code ran).
if returncode != 0 or not re.search(r"^\$2 = 0$", output, re.M):
    fail("inject", detail=tail)

deadline = time.time() + 60
while not listener(port):
    if time.time() > deadline:
        fail("nolisten", detail=tail)
    time.sleep(0.05)
say(event="ready", reused=False, python=version)
finish(0)
