/*
 * templates: WhatsApp message templates with variables, as the Cloud API's
 * `template.components` takes them (docs/channels/whatsapp.md#templates).
 *
 * A template in the configuration:
 *   {name, language, text: the body ("Hello {{1}}" or "Hello {{first_name}}"),
 *    header?: {type: text, text: "Order {{1}}"} | {type: image|video|document,
 *             filename?}, footer?: "...",
 *    buttons?: [{type: url, text, url: "https://x.example/{{1}}"} |
 *               {type: quick_reply, text, payload?: "fixed"}]}
 * Its variables (what an agent or the outbound API fills in):
 *   body: "1", "2", ... or the names; header: "header" (a text, or the
 *   https link of the image/video/document); buttons: "button_<index>" (the
 *   url's suffix, or a quick reply's payload when none is configured).
 * Parsers that never print: errors are returned in *err_r (malloc'ed).
 */
#ifndef WA_TEMPLATES_H
#define WA_TEMPLATES_H

#include <jansson.h>

#define WA_TEMPLATE_VAR_MAX 1024   /* characters of one variable's value */

/* Check the configured list and return it normalised (new reference):
 * each entry as configured plus "variables": [{name, part: header | body |
 * button, type: text | image | video | document | url | payload}]. NULL
 * with *err_r ("template 2 (name): ...") when malformed. */
json_t *wa_templates_load(const json_t *conf, char **err_r);

/* Render template `name` of the normalised list with variables (an object
 * of strings): every variable it needs given, none it does not know.
 * *data_r: {"template": {name, language: {code}, components: [...]}} as
 * the Graph API takes it (new reference); *text_r: the message as the
 * customer reads it (malloc'ed). -1 with *err_r otherwise. */
int wa_template_render(const json_t *list, const char *name, const json_t *variables,
		       json_t **data_r, char **text_r, char **err_r);

#endif
