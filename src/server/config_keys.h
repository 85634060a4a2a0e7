/* config_keys.h: the list of config.toml keys, for tests and `autocorrectd --check-config`.
 * Internal to src/server/; the keys themselves are documented in config.example.toml. */
#ifndef AC_SERVER_CONFIG_KEYS_H
#define AC_SERVER_CONFIG_KEYS_H

#include <stddef.h>

/* The name of key i (0-based, in documentation order), or NULL when i is past the last key. */
const char *ac__config_key_name(size_t i);

#endif
