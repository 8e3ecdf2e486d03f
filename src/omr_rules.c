/*
 * omr_rules: see omr_rules.h.
 *
 * Each expression is compiled as the chunk "return (EXPR)" and kept in the
 * registry. Before a call its _ENV upvalue is set to a fresh table that
 * holds the facts of the conversation; the table's metatable falls back to
 * a read-only table of safe library functions.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "omr_calendar.h"
#include "omr_rules.h"
#include "omr_util.h"

#define OMR_RULES_MEM_MAX (8u * 1024 * 1024)
#define OMR_RULES_STEPS 200000

struct omr_rules {
	lua_State *L;
	size_t mem;
	int *refs;
	int nrefs;
	int safe_ref;       /* the table of allowed globals */
	const struct omr_calendar *cals;
	size_t ncals;
	int64_t now_ms;     /* 0: the real clock */
};

/* open("office"): is the calendar open now? */
static int omr_rules_open(lua_State *L)
{
	struct omr_rules *r = lua_touserdata(L, lua_upvalueindex(1));
	const char *name = luaL_checkstring(L, 1);
	for (size_t i = 0; i < r->ncals; i++) {
		if (r->cals[i].name && strcmp(r->cals[i].name, name) == 0) {
			lua_pushboolean(L, omr_calendar_open(&r->cals[i],
							     r->now_ms ? r->now_ms : omr_now_ms()));
			return 1;
		}
	}
	return luaL_error(L, "unknown calendar '%s'", name);
}

void omr_rules_set_calendars(struct omr_rules *r, const struct omr_calendar *cals, size_t n)
{
	r->cals = cals;
	r->ncals = n;
}

void omr_rules_set_clock(struct omr_rules *r, int64_t now_ms)
{
	r->now_ms = now_ms;
}

static void *omr_rules_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct omr_rules *r = ud;
	if (!ptr)
		osize = 0;
	if (nsize == 0) {
		free(ptr);
		r->mem -= osize;
		return NULL;
	}
	if (nsize > osize && r->mem + (nsize - osize) > OMR_RULES_MEM_MAX)
		return NULL; /* Lua raises "not enough memory" */
	void *p = realloc(ptr, nsize);
	if (p)
		r->mem = r->mem - osize + nsize;
	return p;
}

static void omr_rules_budget(lua_State *L, lua_Debug *ar)
{
	luaL_error(L, "the condition ran too long (more than %d steps)", OMR_RULES_STEPS);
}

/* Copy allowed functions of a library into t[name]. */
static void omr_rules_allow(lua_State *L, const char *lib, const char *const *names)
{
	lua_getglobal(L, lib);
	lua_newtable(L);
	for (int i = 0; names[i]; i++) {
		lua_getfield(L, -2, names[i]);
		lua_setfield(L, -2, names[i]);
	}
	lua_setfield(L, -3, lib); /* safe[lib] = copy */
	lua_pop(L, 1);
}

static void omr_rules_sandbox(struct omr_rules *r)
{
	static const char *const str[] = { "byte", "char", "find", "format", "gmatch", "gsub",
					   "len", "lower", "match", "reverse", "sub", "upper",
					   NULL };
	static const char *const math[] = { "abs", "ceil", "floor", "max", "min", "huge",
					    "tointeger", "type", NULL };
	static const char *const base[] = { "tostring", "tonumber", "type", "pairs", "ipairs",
					    "select", "next", NULL };
	lua_State *L = r->L;

	lua_newtable(L); /* safe */
	omr_rules_allow(L, "string", str);
	omr_rules_allow(L, "math", math);
	for (int i = 0; base[i]; i++) {
		lua_getglobal(L, base[i]);
		lua_setfield(L, -2, base[i]);
	}
	lua_pushlightuserdata(L, r);
	lua_pushcclosure(L, omr_rules_open, 1);
	lua_setfield(L, -2, "open");
	r->safe_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	/* Strings' methods (text:find) come from the string metatable; limit
	 * them to the same safe set (string.rep could allocate without end). */
	lua_pushliteral(L, "");
	if (lua_getmetatable(L, -1)) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, r->safe_ref);
		lua_getfield(L, -1, "string");
		lua_setfield(L, -3, "__index");
		lua_pop(L, 2);
	}
	lua_pop(L, 1);
	/* Nothing else of the global table is reachable from a condition. */
}

struct omr_rules *omr_rules_new(void)
{
	struct omr_rules *r = omr_calloc(1, sizeof(*r));
	r->L = lua_newstate(omr_rules_alloc, r);
	if (!r->L)
		abort();
	luaL_requiref(r->L, "_G", luaopen_base, 1);
	luaL_requiref(r->L, "string", luaopen_string, 1);
	luaL_requiref(r->L, "math", luaopen_math, 1);
	lua_pop(r->L, 3);
	omr_rules_sandbox(r);
	return r;
}

void omr_rules_free(struct omr_rules *r)
{
	if (!r)
		return;
	lua_close(r->L);
	free(r->refs);
	free(r);
}

/* "[string \"x\"]:1: msg" -> "msg" */
static const char *omr_rules_strip(const char *msg)
{
	const char *p = strstr(msg, "]:");
	if (p) {
		p = strchr(p + 2, ':');
		if (p)
			return p[1] == ' ' ? p + 2 : p + 1;
	}
	return msg;
}

int omr_rules_compile(struct omr_rules *r, const char *name, const char *expr, char **err_r)
{
	lua_State *L = r->L;
	char *chunk = omr_asprintf("return (%s\n)", expr);
	int rc = luaL_loadbufferx(L, chunk, strlen(chunk), name, "t");
	free(chunk);
	if (rc != LUA_OK) {
		omr_err(err_r, "%s", omr_rules_strip(lua_tostring(L, -1)));
		lua_pop(L, 1);
		return -1;
	}
	r->refs = omr_realloc(r->refs, (size_t)(r->nrefs + 1) * sizeof(*r->refs));
	r->refs[r->nrefs] = luaL_ref(L, LUA_REGISTRYINDEX);
	return r->nrefs++;
}

static void omr_rules_push_json(lua_State *L, const json_t *j, int depth)
{
	const char *k;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(j));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(j));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		lua_pushboolean(L, json_is_true(j));
		break;
	case JSON_OBJECT:
		lua_newtable(L);
		if (depth < 8)
			json_object_foreach((json_t *)j, k, v) {
				omr_rules_push_json(L, v, depth + 1);
				lua_setfield(L, -2, k);
			}
		break;
	case JSON_ARRAY:
		lua_newtable(L);
		if (depth < 8)
			json_array_foreach(j, i, v) {
				omr_rules_push_json(L, v, depth + 1);
				lua_rawseti(L, -2, (lua_Integer)i + 1);
			}
		break;
	default:
		lua_pushnil(L);
	}
}

static int omr_rules_call(lua_State *L)
{
	/* stack: fn env */
	lua_pushvalue(L, 2);
	if (!lua_setupvalue(L, 1, 1))
		lua_pop(L, 1);
	lua_pushvalue(L, 1);
	lua_call(L, 0, 1);
	return 1;
}

int omr_rules_eval(struct omr_rules *r, int idx, const json_t *facts, char **err_r)
{
	lua_State *L = r->L;
	int top = lua_gettop(L), rc, truth;

	if (idx < 0 || idx >= r->nrefs)
		return omr_err(err_r, "no such condition");
	lua_pushcfunction(L, omr_rules_call);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->refs[idx]);
	/* env = facts, falling back to the safe library table */
	omr_rules_push_json(L, facts, 0);
	lua_newtable(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, r->safe_ref);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_sethook(L, omr_rules_budget, LUA_MASKCOUNT, OMR_RULES_STEPS);
	rc = lua_pcall(L, 2, 1, 0);
	lua_sethook(L, NULL, 0, 0);
	if (rc != LUA_OK) {
		const char *msg = lua_tostring(L, -1);
		omr_err(err_r, "%s", msg ? omr_rules_strip(msg) : "error");
		lua_settop(L, top);
		return -1;
	}
	truth = lua_toboolean(L, -1);
	lua_settop(L, top);
	lua_gc(L, LUA_GCSTEP, 0);
	return truth ? 1 : 0;
}
