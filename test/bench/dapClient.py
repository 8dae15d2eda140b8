# A plain DAP client for the Python debugger benchmarks' baselines. It runs in
# a container that shares the target's network namespace and talks straight to
# debugpy on 127.0.0.1:PORT there (no forward, no relay):
#   attach PORT PATH LINE     initialize, attach, a breakpoint, configurationDone, until stopped
#   steps PORT PATH LINE N    the same, then N timed `next` inside tick() (ms, one JSON list)
import json
import socket
import sys
import time

mode, port, path, line = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

deadline = time.time() + 60
while True:
    try:
        sock = socket.create_connection(("127.0.0.1", port))
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.02)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
reader = sock.makefile("rb")
seq = 0


def send(command, **arguments):
    global seq
    seq += 1
    body = json.dumps({"seq": seq, "type": "request", "command": command, "arguments": arguments}).encode()
    sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return seq


def receive():
    length = 0
    while True:
        header = reader.readline().strip()
        if not header:
            break
        if header.lower().startswith(b"content-length"):
            length = int(header.split(b":")[1])
    return json.loads(reader.read(length))


def until(pred):
    while True:
        m = receive()
        if pred(m):
            return m


def response(n):
    return until(lambda m: m.get("type") == "response" and m.get("request_seq") == n)


def stopped():
    return until(lambda m: m.get("event") == "stopped")


response(send("initialize", adapterID="bench", clientID="bench", pathFormat="path", linesStartAt1=True, columnsStartAt1=True))
send("attach", justMyCode=True, subProcess=False)
until(lambda m: m.get("event") == "initialized")
response(send("setBreakpoints", source={"path": path}, breakpoints=[{"line": line}]))
send("configurationDone")
thread = stopped()["body"]["threadId"]

if mode == "steps":
    wanted = int(sys.argv[5])
    times = []
    while len(times) < wanted:
        top = response(send("stackTrace", threadId=thread, levels=1))["body"]["stackFrames"][0]
        if top["name"] != "tick" or top["line"] > line + 2:
            # Back to the breakpoint (not timed), as the relay's side does.
            send("continue", threadId=thread)
            thread = stopped()["body"]["threadId"]
            continue
        t = time.perf_counter()
        send("next", threadId=thread)
        stopped()
        times.append((time.perf_counter() - t) * 1000)
    print(json.dumps(times))

response(send("setBreakpoints", source={"path": path}, breakpoints=[]))
response(send("disconnect", terminateDebuggee=False))
