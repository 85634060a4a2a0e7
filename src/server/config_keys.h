/* config_keys.h: the list of config.toml keys, for tests and `autocorrectd --check-config`.
 * Internal to src/server/; the keys themselves are documented in config.example.toml. */
#ifndef AC_SERVER_CONFIG_KEYS_H
#define AC_SERVER_CONFIG_KEYS_H

#include <stddef.h>

/* The name of key i (0-based, in documentation order), or NULL when i is past the last key. */
const char *ac__config_key_name(size_t i);

/* Writes key i's value in cfg as TOML (`4`, `true`, `"text"`) into out[n]; a set http_token is
 * shown as "(set)". Returns 0, or -1 when i is past the last key. */
struct ac_config;
int ac__config_format_value(const struct ac_config *cfg, size_t i, char *out, size_t n);

#endif
