# gen.awk: the typed C interface of the server-side scripts, made at build
# time from the header of each src/lua/NAME.lua (see src/lua/README.md):
#
#   -- @key  NAME TEMPLATE   KEYS[i]: the prefix and TEMPLATE, where {arg}
#                            is replaced by a str argument ("conv:{conversation}")
#   -- @arg  NAME TYPE ...   ARGV[i + 1] (ARGV[1] is the key prefix); TYPE is
#                            str, int, json (a JSON text) or bool
#   -- @rest NAME ...        the strings after the arguments (a list)
#   -- @reply NAME TYPE ...  element i of the array the script returns; TYPE
#                            is str, int or any (the redisReply itself)
#   -- @time                 the script uses NOW: Redis' own clock (TIME), ms,
#                            plus the store's clock offset (omr_store_clock:
#                            0 but in tests), passed after the arguments
#   -- @lib  NAME            include src/lua/NAME.lib (shared Lua) after the
#                            prelude's declarations
#   -- @readonly             the script writes nothing (its Redis Function is
#                            flagged no-writes: it runs when Redis is out of
#                            memory, as an EVAL that writes nothing does)
#
# For each script it writes, to the header (MODE=h) or the C file (MODE=c):
#   struct omr_lua_NAME_args, void omr_lua_NAME(store, args, cb, arg),
#   struct omr_lua_NAME_reply, int omr_lua_NAME_reply(reply, out);
# and the script's source, behind a prelude that binds P (the prefix),
# K.<key>, A.<arg>, REST and NOW, so that the Lua reads names, not indices,
# and that refuses to run while the site is being moved to another Redis
# Cluster shard (P .. 'moving' exists: omr_move.h).
#
# usage: awk -v MODE=h|c -f gen.awk FILE.lua...   (FILEs in the order given)
#        awk -v MODE=lua -f gen.awk FILE.lua        the script as Redis runs it

function reset() {
	nk = na = nr = 0; rest = ""; usetime = 0; readonly = 0; rawlib = ""; rawsrc = ""
	split("", kname); split("", ktmpl); split("", aname); split("", atype)
	split("", rname); split("", rtype)
}

function die(msg) {
	printf "%s: %s\n", FILENAME, msg > "/dev/stderr"
	failed = 1
	exit 1
}

function cstr(s) {
	gsub(/\\/, "\\\\", s)
	gsub(/"/, "\\\"", s)
	return s
}

function header_line(line,    f, n) {
	n = split(line, f, /[ \t]+/)
	if (f[2] == "@key") {
		if (n < 4) die("@key NAME TEMPLATE")
		kname[++nk] = f[3]; ktmpl[nk] = f[4]
	} else if (f[2] == "@arg") {
		if (n < 4 || f[4] !~ /^(str|int|json|bool)$/) die("@arg NAME str|int|json|bool")
		aname[++na] = f[3]; atype[na] = f[4]
	} else if (f[2] == "@rest") {
		if (n < 3) die("@rest NAME")
		rest = f[3]
	} else if (f[2] == "@reply") {
		if (n < 4 || f[4] !~ /^(str|int|any)$/) die("@reply NAME str|int|any")
		rname[++nr] = f[3]; rtype[nr] = f[4]
	} else if (f[2] == "@time") {
		usetime = 1
	} else if (f[2] == "@readonly") {
		readonly = 1
	} else if (f[2] == "@lib") {
		if (n < 3) die("@lib NAME")
		read_lib(f[3])
	}
}

# a line of Lua as a C string literal (no gsub for the backslash: awks
# differ in what its replacement means)
function escape(line,    out, i, ch) {
	out = ""
	for (i = 1; i <= length(line); i++) {
		ch = substr(line, i, 1)
		if (ch == "\\" || ch == "\"")
			out = out "\\"
		out = out ch
	}
	return "\t\"" out "\\n\"\n"
}

# the library's text, next to the script
function read_lib(lib,    dir, path, line, rc) {
	dir = FILENAME
	if (!sub(/\/[^\/]*$/, "", dir))
		dir = "."
	path = dir "/" lib ".lib"
	while ((rc = (getline line < path)) > 0) {
		rawlib = rawlib line "\n"
	}
	if (rc < 0)
		die("@lib " lib ": cannot read " path)
	close(path)
}

function ctype(t) {
	return t == "int" || t == "bool" ? "long long " : "const char *"
}

# "conv:{conversation}" -> a printf format and its arguments
function key_fmt(t, i,    fmt, args, name, a) {
	fmt = ""; args = ""
	while (match(t, /\{[a-z_0-9]+\}/)) {
		name = substr(t, RSTART + 1, RLENGTH - 2)
		for (a = 1; a <= na && aname[a] != name; a++)
			;
		if (a > na || atype[a] != "str")
			die("key " kname[i] ": {" name "} is no str argument")
		fmt = fmt substr(t, 1, RSTART - 1) "%s"
		args = args ", omr_lua_s(a->" name ")"
		t = substr(t, RSTART + RLENGTH)
	}
	return "\"" cstr(fmt t) "\"" args
}

function emit_h(name,    i) {
	printf "\n/* %s.lua */\nstruct omr_lua_%s_args {\n", name, name
	for (i = 1; i <= na; i++)
		printf "\t%s%s;\n", ctype(atype[i]), aname[i]
	if (rest != "")
		printf "\tconst char *const *%s;\n\tsize_t n%s;\n", rest, rest
	if (na == 0 && rest == "")
		printf "\tint unused;\n"
	printf "};\nvoid omr_lua_%s(struct omr_store *s, const struct omr_lua_%s_args *a,\n", name, name
	printf "\t\tomr_redis_cb cb, void *arg);\n"
	if (nr) {
		printf "struct omr_lua_%s_reply {\n", name
		for (i = 1; i <= nr; i++)
			printf "\t%s%s;\n", (rtype[i] == "int" ? "long long " : \
			       (rtype[i] == "any" ? "const redisReply *" : "const char *")), rname[i]
		printf "};\n/* -1 when the reply is no array; else its length (missing elements\n"
		printf " * are NULL, or 0). Valid while the reply is. */\n"
		printf "int omr_lua_%s_reply(const redisReply *r, struct omr_lua_%s_reply *out);\n", \
		       name, name
	}
}

# The prelude in Lua, in two parts around the libraries: first the names a
# call binds, declared (P, K, A, REST, NOW), then, after the libraries and
# the line "-- omr:body", their values for this call: P, K, A, the moving
# guard, REST, NOW. What comes before that line holds nothing of one call,
# so Redis may run it once: omr_redis_library makes every script a Redis
# Function whose body is the part after it (omr_redis.h).
# The globals the scripts use, read once per call into locals of the
# script's scope: in a Function every global read is a miss in the call's
# own globals table and then a look-up through its metatable (and the
# library cannot read them when it loads); a local is an index.
function globals() {
	return "redis, cjson, string, table, math, tonumber, tostring, type, pairs, ipairs, next, unpack, error, pcall"
}

function prelude_decl() {
	return "local function omr_globals() return " globals() " end\n" \
	       "local " globals() "\n" \
	       "local P, K, A, REST, NOW\n"
}

function prelude(    i, out) {
	out = globals() " = omr_globals()\n"
	out = out "P = ARGV[1]\n" "K = {"
	for (i = 1; i <= nk; i++)
		out = out sprintf("%s%s = KEYS[%d]", (i > 1 ? ", " : " "), kname[i], i)
	out = out " }\n" "A = {"
	for (i = 1; i <= na; i++) {
		if (atype[i] == "int")
			out = out sprintf("%s%s = tonumber(ARGV[%d])", (i > 1 ? ", " : " "), aname[i], i + 1)
		else if (atype[i] == "bool")
			out = out sprintf("%s%s = ARGV[%d] == '1'", (i > 1 ? ", " : " "), aname[i], i + 1)
		else
			out = out sprintf("%s%s = ARGV[%d]", (i > 1 ? ", " : " "), aname[i], i + 1)
	}
	out = out " }\n"
	# while `omniroute --move-site` moves the site's keys to another
	# Redis Cluster shard, no script may run: it could read a key already
	# gone and write half its change (the caller retries)
	out = out "if redis.call('EXISTS', P .. 'moving') == 1 then return redis.error_reply('MOVING the site is being moved to another Redis Cluster shard; retry') end\n"
	if (rest != "")
		out = out sprintf("REST = {} for i = %d, #ARGV do REST[#REST + 1] = ARGV[i] end\n", na + 2 + usetime)
	# NOW: Redis' clock, plus the store's offset (ARGV after the
	# arguments: 0 but in tests, omr_store_set_clock)
	if (usetime)
		out = out sprintf("NOW = (function() local t = redis.call('TIME') return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + (tonumber(ARGV[%d]) or 0) end)()\n", na + 2)
	return out
}

# the script as Redis runs it: the declarations, the libraries, the
# marker, the prelude's values, the source
function whole() {
	return prelude_decl() rawlib "-- omr:body\n" prelude() rawsrc
}

# lines of Lua (each ending in a newline) as C string literals
function escape_text(text,    i, n, lines, out) {
	out = ""
	n = split(text, lines, "\n")
	for (i = 1; i < n; i++)
		out = out escape(lines[i])
	return out
}

function emit_c(name,    i, text) {
	printf "\n/* ---- %s.lua ---- */\n\n", name
	printf "static const char omr_lua_src_%s[] =\n", name
	text = escape_text(whole())
	printf "%s;\n\n", substr(text, 1, length(text) - 1)
	printf "void omr_lua_%s(struct omr_store *s, const struct omr_lua_%s_args *a,\n", name, name
	printf "\t\tomr_redis_cb cb, void *arg)\n{\n"
	for (i = 1; i <= na; i++)
		if (atype[i] == "int" || atype[i] == "bool")
			printf "\tchar n%d[24];\n", i
	printf "\tchar *keys[%d];\n", (nk ? nk : 1)
	printf "\tconst char *argv[%d];\n", (na + usetime ? na + usetime : 1)
	if (usetime)
		printf "\tchar clock[24];\n"
	for (i = 1; i <= nk; i++)
		printf "\tkeys[%d] = omr_store_key(s, %s);\n", i - 1, key_fmt(ktmpl[i], i)
	for (i = 1; i <= na; i++) {
		if (atype[i] == "int")
			printf "\tsnprintf(n%d, sizeof(n%d), \"%%lld\", a->%s);\n\targv[%d] = n%d;\n", \
			       i, i, aname[i], i - 1, i
		else if (atype[i] == "bool")
			printf "\tsnprintf(n%d, sizeof(n%d), \"%%d\", a->%s ? 1 : 0);\n\targv[%d] = n%d;\n", \
			       i, i, aname[i], i - 1, i
		else if (atype[i] == "json")
			printf "\targv[%d] = a->%s ? a->%s : \"null\";\n", i - 1, aname[i], aname[i]
		else
			printf "\targv[%d] = omr_lua_s(a->%s);\n", i - 1, aname[i]
	}
	if (usetime)
		printf "\tsnprintf(clock, sizeof(clock), \"%%lld\", omr_store_clock(s));\n\targv[%d] = clock;\n", na
	printf "\tomr_store_script(s, OMR_LUA_%s, (const char *const *)keys, %d, argv, %d, ", \
	       toupper(name), nk, na + usetime
	if (rest != "")
		printf "a->%s, a->n%s, cb, arg);\n", rest, rest
	else
		printf "NULL, 0, cb, arg);\n"
	for (i = 1; i <= nk; i++)
		printf "\tfree(keys[%d]);\n", i - 1
	if (na == 0 && rest == "")
		printf "\t(void)a;\n"
	printf "}\n"
	if (nr) {
		printf "\nint omr_lua_%s_reply(const redisReply *r, struct omr_lua_%s_reply *out)\n{\n", \
		       name, name
		printf "\tmemset(out, 0, sizeof(*out));\n"
		printf "\tif (!r || r->type != REDIS_REPLY_ARRAY)\n\t\treturn -1;\n"
		for (i = 1; i <= nr; i++) {
			if (rtype[i] == "str")
				printf "\tout->%s = omr_reply_str(omr_reply_elem(r, %d));\n", rname[i], i - 1
			else if (rtype[i] == "int")
				printf "\tout->%s = omr_reply_int(omr_reply_elem(r, %d), 0);\n", rname[i], i - 1
			else
				printf "\tout->%s = omr_reply_elem(r, %d);\n", rname[i], i - 1
		}
		printf "\treturn (int)r->elements;\n}\n"
	}
}

BEGIN {
	if (MODE == "lua") {
		# one script as Redis runs it (prelude, libraries, source): for tests
	} else if (MODE == "h") {
		print "/* generated by src/lua/gen.awk from src/lua/NAME.lua; do not edit */"
		print "#ifndef OMR_SCRIPTS_H"
		print "#define OMR_SCRIPTS_H"
		print ""
		print "#include <stddef.h>"
		print ""
		print "#include \"omr_redis.h\""
		print ""
		print "struct omr_store;"
	} else {
		print "/* generated by src/lua/gen.awk from src/lua/NAME.lua; do not edit */"
		print "#include \"config.h\""
		print ""
		print "#include <stdio.h>"
		print "#include <stdlib.h>"
		print "#include <string.h>"
		print ""
		print "#include \"omr_scripts.h\""
		print "#include \"omr_store.h\""
		print ""
		print "static const char *omr_lua_s(const char *s)"
		print "{"
		print "\treturn s ? s : \"\";"
		print "}"
	}
	nscripts = 0
}

FNR == 1 {
	if (nscripts)
		finish()
	name = FILENAME
	sub(/.*\//, "", name)
	sub(/\.lua$/, "", name)
	names[++nscripts] = name
	reset()
	inheader = 1
}

{
	if (inheader && $0 ~ /^--/) {
		if ($0 ~ /^-- @/)
			header_line($0)
	} else {
		inheader = 0
	}
	rawsrc = rawsrc $0 "\n"
}

function finish() {
	if (nk == 0)
		die("declares no @key")
	ro[nscripts] = readonly
	if (MODE == "h")
		emit_h(name)
	else if (MODE == "lua")
		printf "%s", whole()
	else
		emit_c(name)
}

END {
	if (failed)
		exit 1
	if (nscripts)
		finish()
	if (MODE == "lua") {
	} else if (MODE == "h") {
		print ""
		print "enum omr_lua_script {"
		for (i = 1; i <= nscripts; i++)
			printf "\tOMR_LUA_%s,\n", toupper(names[i])
		print "\tOMR_LUA_NSCRIPTS"
		print "};"
		print "/* name and source (with its prelude) of each script */"
		print "extern const char *const omr_lua_names[OMR_LUA_NSCRIPTS];"
		print "extern const char *const omr_lua_sources[OMR_LUA_NSCRIPTS];"
		print "/* 1 for a script that writes nothing (@readonly) */"
		print "extern const unsigned char omr_lua_readonly[OMR_LUA_NSCRIPTS];"
		print ""
		print "#endif"
	} else {
		print ""
		print "const char *const omr_lua_names[OMR_LUA_NSCRIPTS] = {"
		for (i = 1; i <= nscripts; i++)
			printf "\t\"%s\",\n", names[i]
		print "};"
		print ""
		print "const char *const omr_lua_sources[OMR_LUA_NSCRIPTS] = {"
		for (i = 1; i <= nscripts; i++)
			printf "\tomr_lua_src_%s,\n", names[i]
		print "};"
		print ""
		print "const unsigned char omr_lua_readonly[OMR_LUA_NSCRIPTS] = {"
		for (i = 1; i <= nscripts; i++)
			printf "\t%d, /* %s */\n", ro[i], names[i]
		print "};"
	}
}
