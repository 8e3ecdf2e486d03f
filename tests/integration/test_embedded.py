"""Embedded Redis: the daemon starts its own redis-server on a unix socket
in the state directory (AOF on), restarts it if it dies, stops it on exit,
and a kill -9 of the daemon takes the redis-server down too."""
import os
import signal
import time

import omrtest
from omrtest import check, eq, log, Daemon, Visitor, wait_for


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def redis_pid(state):
    with open(os.path.join(state, "redis.pid")) as f:
        return int(f.read().strip())


def test(tmp):
    state = os.path.join(tmp, "state")
    d = Daemon(tmp, embedded=True).start()
    check(os.path.exists(os.path.join(state, "redis.sock")), "socket in the state dir")
    check(os.path.isdir(os.path.join(state, "appendonlydir")), "AOF in the state dir")
    v = Visitor(d, name="Persistent")
    ack = v.say("remember me")
    conv = ack["conversation"]
    pid1 = redis_pid(state)
    check(pid_alive(pid1), "embedded redis-server running")

    # the embedded server dies: the daemon restarts it, nothing is lost
    os.kill(pid1, signal.SIGKILL)
    wait_for(lambda: os.path.exists(os.path.join(state, "redis.pid")) and
             redis_pid(state) != pid1 and d.healthy(), timeout=30, what="redis restarted")
    check("embedded redis: killed by signal 9; restarting" in d.log_text(), "restart logged")
    wait_for(lambda: d.conversation(conv)["msg_count"] == 1, what="data after redis restart")
    v.close()
    v = Visitor(d, visitor=v.id, token=v.token)
    eq(v.say("still here", cmid="m2")["conversation"], conv, "same conversation after redis restart")

    # SIGTERM stops the daemon and its redis-server
    pid2 = redis_pid(state)
    eq(d.stop(), 0, "clean stop")
    check(not pid_alive(pid2), "redis-server stopped with the daemon")

    # data survives a restart (AOF)
    d.start()
    eq(d.conversation(conv)["msg_count"], 2, "messages persisted across restarts")

    # kill -9 of the daemon: the redis-server follows (parent-death signal)
    pid3 = redis_pid(state)
    d.kill9()
    wait_for(lambda: not pid_alive(pid3), timeout=15, what="orphaned redis-server to exit")
    check(True, "redis-server exited after the daemon was killed")
    d.start()
    eq(d.conversation(conv)["msg_count"], 2, "messages persisted across kill -9")
    eq(d.stop(), 0, "clean stop")


omrtest.run(test)
