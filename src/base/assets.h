/*
 * assets.h: files compiled into the binary (templates/, static/, schema/,
 * po/). tools/embed.c generates build/assets.c from them at build time, so
 * the binary runs from any directory with nothing beside it.
 */
#ifndef RATIFY_ASSETS_H
#define RATIFY_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *path;          /* as in the source tree: "templates/layout.html" */
    const unsigned char *data; /* NUL-terminated after len bytes */
    size_t len;
} Asset;

/* All assets, sorted by path, ending with an entry whose path is NULL. */
extern const Asset assets[];

/* The asset at path, or NULL. */
const Asset *asset_find(const char *path);

#endif
