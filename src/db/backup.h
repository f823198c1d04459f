/*
 * backup.h: the encrypted backup file format, the secrets that open it, and
 * writing files atomically with mode 0600. No database engine here: sqlite.c
 * turns a database into bytes (db_snapshot) and checks bytes before a
 * restore (db_check_image); this module encrypts and decrypts bytes.
 *
 * The format, version 1 (all integers little-endian):
 *
 *   offset size
 *        0    8  magic "RATIFYBK"
 *        8    1  format version (1)
 *        9    1  key derivation: 0 = a key file, 1 = argon2id13 passphrase
 *       10    2  zero
 *       12    8  argon2id opslimit (0 with a key file)
 *       20    8  argon2id memlimit in bytes (0 with a key file)
 *       28   16  argon2id salt, random (zero with a key file)
 *       44   16  key check: BLAKE2b-128 keyed with the key, of a fixed text,
 *                so a wrong key is told apart from a damaged file
 *       60    8  the plaintext's length, so the file's length is known
 *                before decrypting: a truncated file, or one with bytes
 *                after its end, is named as such
 *       68   24  crypto_secretstream_xchacha20poly1305 header
 *       92  ...  the stream: chunks of BACKUP_CHUNK bytes of plaintext (the
 *                last one maybe shorter; one empty chunk for no bytes), each
 *                with its 17 bytes of overhead; the last carries the FINAL
 *                tag and no other does.
 *
 * The first chunk authenticates bytes 0-67 as additional data: a changed
 * header byte fails like a changed ciphertext byte.
 */
#ifndef RATIFY_BACKUP_H
#define RATIFY_BACKUP_H

#include <stddef.h>

#include "base/util.h"

enum {
    BACKUP_KEY_BYTES = 32,
    BACKUP_CHUNK = 64 * 1024,    /* plaintext bytes per chunk */
    BACKUP_HEADER_BYTES = 92,    /* everything before the first chunk */
    BACKUP_MAX_PASSPHRASE = 1024 /* longer passphrase files are refused */
};

typedef enum {
    BACKUP_SECRET_NONE,      /* no secret: an unencrypted backup */
    BACKUP_SECRET_KEY,       /* a 32-byte key from a key file */
    BACKUP_SECRET_PASSPHRASE /* a passphrase, stretched with argon2id */
} BackupSecretKind;

/* What opens a backup. Holds secrets: clear it with backup_secret_clear. */
typedef struct {
    BackupSecretKind kind;
    unsigned char key[BACKUP_KEY_BYTES];        /* kind KEY: the key itself */
    char passphrase[BACKUP_MAX_PASSPHRASE + 1]; /* kind PASSPHRASE, NUL-terminated */
    size_t passphrase_len;                      /* its length in bytes */
} BackupSecret;

/* Creates a key file at path: 32 random bytes as 64 hex digits and a
 * newline, mode 0600, written atomically. Refuses (R_CONFLICT) to
 * overwrite an existing file. Messages go to stderr. */
Result backup_key_create(const char *path);

/* Reads the key file at path into s (kind KEY). Returns R_NOT_FOUND when it
 * cannot be read, R_BAD_REQUEST when it does not hold 64 hex digits. Warns
 * when others may read it. */
Result backup_secret_from_key_file(BackupSecret *s, const char *path);

/* Reads a passphrase from the file at path (one trailing newline dropped)
 * into s (kind PASSPHRASE). Refuses an empty or over-long one. */
Result backup_secret_from_passphrase_file(BackupSecret *s, const char *path);

/* Takes the passphrase from the environment variable
 * RATIFY_BACKUP_PASSPHRASE. Returns R_NOT_FOUND (silently) when it is
 * unset, R_BAD_REQUEST when it is empty or over-long. */
Result backup_secret_from_env(BackupSecret *s);

/* Zeroes s. */
void backup_secret_clear(BackupSecret *s);

/* Whether data starts with the backup magic. */
int backup_is_encrypted(const unsigned char *data, size_t len);

/* Writes the encrypted form of plain (len bytes) to fd under s (kind KEY
 * or PASSPHRASE; a passphrase is stretched with argon2id MODERATE and a new
 * random salt). Returns R_OK, or R_INTERNAL with the reason on stderr. */
Result backup_encrypt(int fd, const unsigned char *plain, size_t len, const BackupSecret *s);

/* Decrypts a whole backup file's bytes. On R_OK, *plain (*plain_len bytes)
 * is the caller's, to free with backup_plain_free. Otherwise prints why on
 * stderr and returns: R_UNSUPPORTED (not a Ratify backup, or a newer
 * format), R_BAD_REQUEST (s is not the kind of secret the file needs),
 * R_FORBIDDEN (the wrong key or passphrase), R_INTERNAL (truncated,
 * damaged or altered). Nothing is returned from a file that fails. */
Result backup_decrypt(const unsigned char *data, size_t len, const BackupSecret *s,
                      unsigned char **plain, size_t *plain_len);

/* Zeroes and frees what backup_decrypt returned. plain may be NULL. */
void backup_plain_free(unsigned char *plain, size_t len);

/* Reads the whole file at path into *data (*len bytes; the caller frees
 * it). Returns R_NOT_FOUND when it cannot be opened, R_INTERNAL otherwise. */
Result backup_read_file(const char *path, unsigned char **data, size_t *len);

/* Writing a file atomically: backup_file_open creates a temporary file
 * with mode 0600 beside path and returns its descriptor (or -1, with the
 * reason on stderr); *tmp is its name, for backup_file_commit or
 * backup_file_abort, which free it. commit syncs the file, then renames
 * it over path (overwrite) or links it to path only if path does not exist
 * (R_CONFLICT otherwise), then syncs the directory. abort removes it. */
int backup_file_open(const char *path, char **tmp);
Result backup_file_commit(int fd, char *tmp, const char *path, int overwrite);
void backup_file_abort(int fd, char *tmp);

/* Writes all len bytes to fd. Returns R_OK or R_INTERNAL (errno set). */
Result backup_write_all(int fd, const void *data, size_t len);

#endif
