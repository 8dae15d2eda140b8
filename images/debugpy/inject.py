# Runs in the injector sidecar (CAP_SYS_PTRACE, the target's pid and network
# namespaces) as `python3 -c <this file> PID PORT TOKEN MIN_PYTHON`, started by
# src/debug/debugpy.ts. It checks the target, then waits for the holder sidecar
# (found by TOKEN on its command line), whose debugpy the target imports
# through /proc/<holder>/root, and runs debugpy's own `--pid` injection with
# gdb. It reports on stdout, one JSON object a line:
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
shared = "/proc/%d/root%s" % (holder, package)

# gdb's default sysroot enters the target's mount namespace and is refused;
# debugpy runs gdb with --nh --nx, so a wrapper first on PATH sets it.
gdb = shutil.which("gdb")
if not gdb:
    fail("nogdb")
wrappers = "/tmp/container-sidecar-bin"
os.makedirs(wrappers, exist_ok=True)
with open(wrappers + "/gdb", "w") as f:
    f.write('#!/bin/sh\nexec %s -iex "set sysroot /proc/%d/root" "$@"\n' % (gdb, pid))
os.chmod(wrappers + "/gdb", 0o755)
env = dict(os.environ, PATH=wrappers + ":" + os.environ.get("PATH", "/usr/bin:/bin"))

argv = [sys.executable, shared, "--listen", "127.0.0.1:%d" % port, "--pid", str(pid)]
try:
    run = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
    output = run.stdout.decode("utf-8", "replace")
    code = run.returncode
except subprocess.TimeoutExpired as e:
    output = (e.stdout or b"").decode("utf-8", "replace")
    code = -1
tail = "\n".join(output.strip().splitlines()[-12:])
if re.search(r"ptrace: Operation not permitted|Could not attach to process", output):
    fail("ptrace", detail=tail)
if code != 0:
    fail("inject", detail=tail)

deadline = time.time() + 30
while not listener(port):
    if time.time() > deadline:
        fail("nolisten", detail=tail)
    time.sleep(0.05)
say(event="ready", reused=False, python=version)
finish(0)
