/* Server-side Lua scripts (src/lua/NAME.lua), embedded at build time. */
#ifndef OMR_SCRIPTS_H
#define OMR_SCRIPTS_H
extern const char omr_lua_ingest[];
extern const char omr_lua_conv_get[];
extern const char omr_lua_conv_list[];
extern const char omr_lua_history[];
extern const char omr_lua_enqueue[];
extern const char omr_lua_msg_status[];
extern const char omr_lua_queue_peek[];
extern const char omr_lua_offer[];
extern const char omr_lua_offer_end[];
extern const char omr_lua_offers_due[];
extern const char omr_lua_agent_session[];
extern const char omr_lua_agent_presence[];
extern const char omr_lua_node_alive[];
extern const char omr_lua_reap[];
extern const char omr_lua_reply[];
extern const char omr_lua_conv_act[];
extern const char omr_lua_agent_view[];
extern const char omr_lua_msg_info[];
extern const char omr_lua_agents_state[];
extern const char omr_lua_report_reasons[];
extern const char omr_lua_engage[];
extern const char omr_lua_move[];
extern const char omr_lua_conv_mark[];
extern const char omr_lua_queue_status[];
extern const char omr_lua_queues_state[];
extern const char omr_lua_auto_close[];
extern const char omr_lua_queues_waiting[];
extern const char omr_lua_to_bot[];
extern const char omr_lua_bot_update[];
extern const char omr_lua_bot_end[];
extern const char omr_lua_bot_idle[];
extern const char omr_lua_msg_read_until[];
extern const char omr_lua_outbox_claim[];
extern const char omr_lua_login_guard[];
extern const char omr_lua_events_claim[];
extern const char omr_lua_events_trim[];
extern const char omr_lua_new_sweep[];
#endif
