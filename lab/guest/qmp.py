#!/usr/bin/env python3
"""Starts a QEMU with its QMP monitor on a pipe, runs QMP commands, quits it.

    qmp.py [--timeout S] [--exec CMD]... -- qemu-system-x86_64 ARGS...

Adds `-qmp stdio` to the QEMU command line, negotiates capabilities, runs each
--exec command (default: query-pci) and prints one JSON object mapping each
command to its "return" value. Exits 1 when QEMU fails to start, a command
returns an error, or the timeout passes (QEMU's stderr is passed through).
Raises RLIMIT_MEMLOCK first: vfio pins all guest RAM (like `ulimit -l
unlimited`, which lab.md's recipe uses).
"""
import json
import resource
import select
import subprocess
import sys
import time


def main(argv):
    timeout = 120.0
    cmds = []
    while argv and argv[0] != "--":
        if argv[0] == "--timeout":
            timeout = float(argv[1])
            argv = argv[2:]
        elif argv[0] == "--exec":
            cmds.append(argv[1])
            argv = argv[2:]
        else:
            sys.exit("qmp.py: unknown argument %s" % argv[0])
    if not argv or len(argv) < 2:
        sys.exit("usage: qmp.py [--timeout S] [--exec CMD]... -- QEMU ARGS...")
    qemu = argv[1:] + ["-qmp", "stdio"]
    cmds = cmds or ["query-pci"]
    resource.setrlimit(resource.RLIMIT_MEMLOCK,
                       (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    deadline = time.monotonic() + timeout
    p = subprocess.Popen(qemu, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    buf = b""

    def read_msg():
        nonlocal buf
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no QMP reply within %.0f s" % timeout)
            r, _, _ = select.select([p.stdout], [], [], left)
            if r:
                chunk = p.stdout.read1(65536)
                if not chunk:
                    raise EOFError("QEMU closed QMP (exit %s)" % p.poll())
                buf += chunk
        line, buf = buf.split(b"\n", 1)
        return json.loads(line)

    def execute(cmd):
        p.stdin.write((json.dumps({"execute": cmd}) + "\n").encode())
        p.stdin.flush()
        while True:
            m = read_msg()
            if "return" in m:
                return m["return"]
            if "error" in m:
                raise RuntimeError("%s: %s" % (cmd, m["error"]))
            # Asynchronous events ({"event": ...}) are skipped.

    try:
        greeting = read_msg()
        if "QMP" not in greeting:
            raise RuntimeError("not a QMP greeting: %r" % greeting)
        execute("qmp_capabilities")
        result = {c: execute(c) for c in cmds}
        try:
            execute("quit")
        except (EOFError, RuntimeError):
            pass
        p.wait(timeout=30)
    except (TimeoutError, EOFError, RuntimeError, ValueError) as e:
        p.kill()
        p.wait()
        print("qmp.py: %s" % e, file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
