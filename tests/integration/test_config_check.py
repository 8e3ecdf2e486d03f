"""omniroute -t: the shipped configuration is valid; broken ones fail with
exit status 1 and file:line messages, plugin problems included; the other
command-line modes behave."""
import os
import re
import shutil
import subprocess

import omrtest
from omrtest import check, eq, token_hash, BUILDDIR, SRCDIR, DAEMON


def run(*args, stdin=None):
    p = subprocess.run([DAEMON] + list(args), input=stdin, capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr


def shipped_copy(tmp):
    """conf/*.yaml as shipped, with the plugin directory of this build."""
    conf = os.path.join(tmp, "conf")
    plugins = os.path.join(tmp, "plugins")
    os.makedirs(conf)
    os.makedirs(plugins)
    for p, d in (("webchat", "webchat"), ("faqbot", "faqbot"), ("whatsapp", "whatsapp"),
                 ("messenger", "social"), ("instagram", "social"), ("x", "social"),
                 ("email", "email")):
        os.symlink(os.path.join(BUILDDIR, "plugins/%s/.libs/%s.so" % (d, p)),
                   os.path.join(plugins, p + ".so"))
    for f in ("omniroute.yaml", "routing.yaml", "agents.yaml", "faqbot.yaml", "canned.yaml"):
        shutil.copy(os.path.join(SRCDIR, "conf", f), conf)
    main = os.path.join(conf, "omniroute.yaml")
    with open(main) as f:
        text = f.read()
    check("\npaths:\n" in text, "shipped config has a paths section")
    with open(main, "w") as f:
        f.write(text.replace("\npaths:\n", "\npaths:\n  plugin_dir: %s\n" % plugins, 1))
    return main


def test(tmp):
    main = shipped_copy(tmp)
    rc, out, err = run("-t", "-c", main)
    eq(rc, 0, "shipped configuration passes -t")
    check("is valid" in err, "-t says so")
    check("admin.token is shorter than 16 characters: accepted only because the admin API "
          "listens on loopback (127.0.0.1)" in err, "-t warns about the demo's short token")
    check(not os.path.exists(os.path.join(tmp, "var")), "-t starts nothing (no state dir)")

    rc, out, err = run("-t", "-c", os.path.join(SRCDIR, "tests/conf/bad/bad-many.yaml"))
    eq(rc, 1, "bad configuration: exit 1")
    for want in ("bad-many.yaml:4: unknown key 'colour'", "bad-many.yaml:5: 'loud' is not one of",
                 "bad-many.yaml:6: expected true or false"):
        check(want in err, "every error reported: " + want)
    check("has 3 error(s)" in err, "error count")

    # media.types: only types a file's bytes can show (docs/media.md)
    with open(main) as f:
        text = f.read()
    bad_media = os.path.join(os.path.dirname(main), "bad-media.yaml")
    with open(bad_media, "w") as f:
        f.write(text + "\nmedia:\n  max_bytes: 1048576\n  types: [image/png, text/html]\n")
    rc, out, err = run("-t", "-c", bad_media)
    line = (text + "\n").count("\n") + 3
    eq(rc, 1, "a media type omniroute cannot recognise: exit 1")
    check("bad-media.yaml:%d: media: types: 'text/html' is not a type" % line in err,
          "named with file and line: %r" % err[-300:])

    rc, out, err = run("-t", "-c", os.path.join(tmp, "missing.yaml"))
    eq(rc, 1, "missing file: exit 1")
    check("missing.yaml: No such file or directory" in err, "missing file named")

    # Redis through Sentinel: a good one passes, mistakes are named
    with open(main) as f:
        text = f.read()
    embedded = "  embedded: true       # start a private redis-server; or: url: redis://host:6379/0\n"
    check(embedded in text, "the shipped config uses embedded Redis")
    for name, section, want in (
            ("sentinel-good", "  sentinels: [10.0.0.21:26379, 'sentinel-2:26379', '[::1]:26379']\n"
             "  master: omr\n  durability: {replicas: 1, timeout: 500ms, when_short: refuse}\n",
             None),
            ("sentinel-nomaster", "  sentinels: [10.0.0.21:26379]\n",
             "'sentinels' needs at least one host:port and the 'master' name"),
            ("sentinel-badaddr", "  sentinels: [10.0.0.21, 'a@b:1', 'h:70000']\n  master: omr\n",
             ("sentinel '10.0.0.21' is not host:port", "sentinel 'a@b:1' is not host:port",
              "sentinel 'h:70000' is not host:port")),
            ("sentinel-both", "  url: redis://127.0.0.1:6379\n  sentinels: [127.0.0.1:26379]\n"
             "  master: omr\n", "exclude each other"),
            ("sentinel-masteronly", "  url: redis://127.0.0.1:6379\n  master: omr\n",
             "'master' is the name of a primary in Sentinel"),
            ("durability-range", "  url: redis://127.0.0.1:6379\n  durability: {replicas: 99}\n",
             "99 is out of range")):
        path = os.path.join(tmp, "conf", name + ".yaml")
        with open(path, "w") as f:
            f.write(text.replace(embedded, section))
        rc, out, err = run("-t", "-c", path)
        if want is None:
            eq(rc, 0, "%s: valid (%s)" % (name, err.strip()[-200:]))
        else:
            eq(rc, 1, "%s: exit 1" % name)
            for w in (want,) if isinstance(want, str) else want:
                check(w in err, "%s: says %r (%s)" % (name, w, err.strip()[-300:]))

    # plugin problems are found by -t too
    bad = os.path.join(tmp, "conf", "bad-plugin.yaml")
    with open(bad, "w") as f:
        f.write(text.replace("      demo: true", "      demo: true\n      colour: red"))
    with open(bad) as f:
        line = [i for i, l in enumerate(f.read().split("\n"), 1)
                if l.startswith("      colour: red")][0]
    rc, out, err = run("-t", "-c", bad)
    eq(rc, 1, "unknown plugin setting: exit 1")
    check("bad-plugin.yaml:%d: unknown key 'colour'" % line in err,
          "plugin setting error with file:line: " + err.strip())
    with open(bad, "w") as f:
        f.write(text.replace("  - name: webchat\n", "  - name: webchat\n    path: %s\n" %
                             os.path.join(BUILDDIR, "tests/plugins/.libs/badabi.so")))
    rc, out, err = run("-t", "-c", bad)
    eq(rc, 1, "plugin for another ABI: exit 1")
    check("was built for plugin ABI version 42" in err, "ABI mismatch explained")
    with open(bad, "w") as f:
        f.write(text.replace("  - name: webchat\n", "  - name: nonesuch\n"))
    rc, out, err = run("-t", "-c", bad)
    eq(rc, 1, "unknown plugin: exit 1")
    check("plugin 'nonesuch': cannot load" in err, "unknown plugin named")

    # routing mistakes: bad Lua, an unknown overflow queue, an unknown skill
    routing = os.path.join(tmp, "conf", "routing.yaml")
    with open(routing) as f:
        good_routing = f.read()
    with open(routing, "w") as f:
        f.write(good_routing.replace("queue: tech\n", "queue: tech\n    skills: { cooking: 2 }\n", 1)
                .replace("or text:lower():find(\"betaling\")", "or text:lower():find(\"betaling\"")
                .replace("    description: everything", "    overflow: nowhere\n    description: everything", 1))
    rc, out, err = run("-t", "-c", main)
    eq(rc, 1, "bad routing: exit 1")
    check("routing.yaml:" in err and "bad condition" in err, "bad Lua named with file:line")
    check("unknown overflow queue 'nowhere'" in err, "unknown overflow queue named")
    check("unknown skill 'cooking'" in err, "unknown skill named")
    with open(routing, "w") as f:
        f.write(good_routing)

    # the bot tier: `bot:` names a bot plugin; its own file is checked too
    with open(routing, "w") as f:
        f.write(good_routing.replace("bot: faqbot", "bot: webchat"))
    rc, out, err = run("-t", "-c", main)
    eq(rc, 1, "bot: a channel plugin: exit 1")
    check("bot: 'webchat' is not a bot plugin" in err, "a bot that is not one named: " + err.strip())
    with open(routing, "w") as f:
        f.write(good_routing)
    faq = os.path.join(tmp, "conf", "faqbot.yaml")
    with open(faq) as f:
        good_faq = f.read()
    with open(faq, "w") as f:
        f.write(good_faq.replace("  max_misunderstood: 2", "  max_misunderstood: 99")
                .replace("fallback_language: en", "fallback_language: en\nvoice: deep"))
    rc, out, err = run("-t", "-c", main)
    eq(rc, 1, "bad faqbot file: exit 1")
    check("faqbot.yaml:" in err and "unknown key 'voice'" in err,
          "a bad key in the plugin's own file named with its file:line: " + err.strip())
    with open(faq, "w") as f:
        f.write(good_faq.replace("  max_misunderstood: 2", "  max_misunderstood: 99"))
    rc, out, err = run("-t", "-c", main)
    eq(rc, 1, "bad faqbot setting: exit 1")
    check("max_misunderstood: a number from 1 to 20" in err, "the plugin's check explains: " + err.strip())
    with open(faq, "w") as f:
        f.write(good_faq)
    both = os.path.join(tmp, "conf", "bad-both.yaml")
    with open(both, "w") as f:
        f.write(text.replace("    config_file: faqbot.yaml\n",
                             "    config_file: faqbot.yaml\n    config: {languages: [en]}\n"))
    rc, out, err = run("-t", "-c", both)
    eq(rc, 1, "config and config_file together: exit 1")
    check("config and config_file exclude each other" in err, "explained")
    with open(both, "w") as f:
        f.write(text.replace("config_file: faqbot.yaml", "config_file: nowhere.yaml"))
    rc, out, err = run("-t", "-c", both)
    eq(rc, 1, "missing config_file: exit 1")
    check("nowhere.yaml" in err, "the missing file named: " + err.strip())

    rc, out, err = run("-v")
    check(rc == 0 and out.startswith("omniroute ") and "plugin ABI " in out, "-v")
    rc, out, err = run("-h")
    check(rc == 0 and "usage: omniroute" in out, "-h")
    rc, out, err = run("--bogus")
    eq(rc, 2, "unknown option: exit 2")
    rc, out, err = run("-c", main, "extra-argument")
    eq(rc, 2, "stray argument: exit 2")

    rc, out, err = run("--hash-password", "--iterations", "1000", stdin="hunter2\n")
    check(rc == 0 and out.startswith("$pbkdf2-sha256$1000$"), "--hash-password")
    rc, out, err = run("--hash-password", stdin="\n")
    eq(rc, 1, "empty password refused")
    # agent tokens: only their SHA-256 is stored
    rc, out, err = run("--hash-token", stdin="alice-token-0123456789\n")
    eq((rc, out), (0, token_hash("alice-token-0123456789") + "\n"), "--hash-token")
    rc, out, err = run("--hash-token", "--generate")
    lines = out.split("\n")
    check(rc == 0 and len(lines) == 3 and re.fullmatch(r"[A-Za-z0-9_-]{43}", lines[0]) and
          lines[1] == token_hash(lines[0]), "--hash-token --generate: a 32-byte token and its hash")
    rc, out, err = run("--hash-token", stdin="only-21-characters-xx\n")
    check(rc == 1 and out == "" and "at least 16 random bytes" in err, "a short token refused")
    rc, out, err = run("--hash-token", stdin="\n")
    eq(rc, 1, "empty token refused")
    rc, out, err = run("--generate")
    eq(rc, 2, "--generate without --hash-token: exit 2")
    agents = os.path.join(tmp, "conf", "agents.yaml")
    with open(agents) as f:
        good_agents = f.read()
    with open(agents, "w") as f:
        f.write(good_agents.replace("  - id: bob\n", "  - id: bob\n    token: sso-token-in-clear-0123456789\n"))
    with open(agents) as f:
        line = [i for i, l in enumerate(f.read().split("\n"), 1) if "sso-token-in-clear" in l][0]
    rc, out, err = run("-t", "-c", main)
    eq(rc, 1, "a clear-text agent token: exit 1")
    check("agents.yaml:%d: token: a clear-text token is not accepted" % line in err and
          "use omniroute --hash-token" in err and "sso-token-in-clear" not in err,
          "explained with file:line, the token not echoed: " + err.strip())
    with open(agents, "w") as f:
        f.write(good_agents)

    rc, out, err = run("--describe-config")
    check(rc == 0 and "`admin.token` | secret | required" in out, "--describe-config")
    # the reference in docs/ is that output (paths.* defaults depend on --prefix)
    with open(os.path.join(omrtest.SRCDIR, "docs", "configuration.md")) as f:
        doc = f.read()
    missing = [line for line in out.splitlines()
               if line.startswith("| `") and not line.startswith("| `paths.") and line not in doc]
    eq(missing, [], "docs/configuration.md lists every key as --describe-config does")


omrtest.run(test)
