/* Server-side Lua scripts (src/lua/NAME.lua), embedded at build time. */
#ifndef OMR_SCRIPTS_H
#define OMR_SCRIPTS_H
extern const char omr_lua_ingest[];
extern const char omr_lua_conv_get[];
extern const char omr_lua_conv_list[];
extern const char omr_lua_history[];
extern const char omr_lua_enqueue[];
extern const char omr_lua_msg_status[];
#endif
