/* version.h: the release number, shown by `ratify version` and the API. */
#ifndef RATIFY_VERSION_H
#define RATIFY_VERSION_H
#define RATIFY_VERSION "0.1.0"
#endif
