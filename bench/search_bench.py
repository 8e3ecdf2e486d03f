#!/usr/bin/env python3
"""Search index benchmark (docs/search.md): what the index costs per stored
message, and how fast a query is, on a private redis-server.

redis-benchmark runs the daemon's own ingest script (best of --rounds,
alternating, so that a busy machine disturbs both alike) (EVALSHA, a new
customer and conversation per message: the worst case, every word is new
to its conversation) without words and with WORDS words (8 common ones
and one rare); the difference is the index's cost per message, also in
SETs. Memory: used_memory after N messages each way, per message. Then
the search script itself on that index (two common words, a name prefix).

Baseline, measured in the same run on the same Redis: redis-benchmark SET.

usage: bench/search_bench.py [--n 50000]
       (run from the source tree after building in ./build, or set OMR_BUILDDIR)
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import omrtest  # noqa: E402

PREFIX = "omr:{bench}:"
WORDS = "factuur kosten hoog juli bedrag betaling rekening klopt w__rand_int__"


def rps(sock, args, n, clients=50):
    p = subprocess.run(["redis-benchmark", "-s", sock, "-n", str(n), "-c", str(clients), "-r",
                        "1000000", "-q"] + args, capture_output=True, text=True, timeout=600)
    m = re.search(r"([\d.]+) requests per second", p.stdout)
    return float(m.group(1)) if m else 0.0


def used(redis):
    info = redis.cmd("INFO", "memory")
    return int(re.search(r"used_memory:(\d+)", info).group(1))


def ingest_args(redis, words):
    sha = redis.cmd("SCRIPT", "LOAD", omrtest.lua_source("ingest"))
    keys, argv = omrtest.lua_keys_argv(
        "ingest", PREFIX, channel="webchat", channel_msg_id="v:__rand_int__",
        address="v__rand_int__", thread="v__rand_int__", name="Anna de Boer",
        name_terms="anna de boer", text="benchmark", attachments=[], attrs={}, meta={},
        public=False, ts=0, customer="u___rand_int__", conversation="c___rand_int__",
        message="m___rand_int__", dedup_ttl=600000, kind="message", verified=False, reopen=0,
        words=words)
    return ["EVALSHA", sha, str(len(keys))] + keys + argv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50000)
    ap.add_argument("--rounds", type=int, default=3, help="best of, alternating plain and indexed")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="omrbench-")
    redis = omrtest.Redis(tmp)
    try:
        set_rps = rps(redis.sock, ["-t", "set"], 100000)
        res = {}
        for _ in range(a.rounds):
            for label, words in (("plain", ""), ("indexed", WORDS)):
                redis.cmd("FLUSHALL")
                before = used(redis)
                res[label] = max(res.get(label, 0), rps(redis.sock, ingest_args(redis, words), a.n))
                res[label + "_bytes"] = (used(redis) - before) / a.n
        # the index as it stands after the indexed run: queries
        sha = redis.cmd("SCRIPT", "LOAD", omrtest.lua_source("search"))
        keys, argv = omrtest.lua_keys_argv("search", PREFIX, words="kosten juli", days=90,
                                           queues="*", offset=0, limit=20)
        q_words = rps(redis.sock, ["EVALSHA", sha, str(len(keys))] + keys + argv, 2000, 4)
        keys, argv = omrtest.lua_keys_argv("search", PREFIX, names="ann", days=90,
                                           queues="*", offset=0, limit=20)
        q_names = rps(redis.sock, ["EVALSHA", sha, str(len(keys))] + keys + argv, 2000, 4)
        cost_us = (1e6 / res["indexed"] - 1e6 / res["plain"]) if res["plain"] and res["indexed"] else 0
        print("baseline_set_per_s %.0f" % set_rps)
        print("ingest_plain_per_s %.0f" % res["plain"])
        print("ingest_indexed_per_s %.0f (%d words)" % (res["indexed"], len(WORDS.split())))
        print("index_cost_us_per_message %.1f" % cost_us)
        print("index_cost_in_sets %.1f" % (cost_us * set_rps / 1e6))
        print("index_bytes_per_message %.0f" % (res["indexed_bytes"] - res["plain_bytes"]))
        print("search_words_per_s %.0f (over %d conversations that all hold both words; "
              "scans at most 1000)" % (q_words, a.n))
        print("search_name_prefix_per_s %.0f (%d customers named Anna; at most 200 read)"
              % (q_names, a.n))
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
