/*
 * backup.c: encrypted backup files (the format is in backup.h), their keys
 * and passphrases, and atomic 0600 file writes.
 *
 * Invariants: a backup is only ever decrypted whole and checked before any
 * byte of it is returned, so a truncated, damaged or altered file yields
 * nothing; secrets and decrypted bytes are zeroed before their memory is
 * freed; nothing here prints a secret.
 */
#include "db/backup.h"

#include <assert.h>
#include <errno.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef crypto_secretstream_xchacha20poly1305_state StreamState;

enum {
    FORMAT_VERSION = 1,
    KDF_KEY_FILE = 0,
    KDF_ARGON2ID = 1,
    OFF_VERSION = 8,
    OFF_KDF = 9,
    OFF_OPSLIMIT = 12,
    OFF_MEMLIMIT = 20,
    OFF_SALT = 28,
    OFF_KEY_CHECK = 44,
    OFF_PLAIN_LENGTH = 60,
    OFF_STREAM_HEADER = 68, /* also the length of the authenticated prefix */
    KEY_CHECK_BYTES = 16,
    SALT_BYTES = crypto_pwhash_SALTBYTES,
    ABYTES = crypto_secretstream_xchacha20poly1305_ABYTES,
    KEY_FILE_MAX = 256 /* a key file is 65 bytes; more is not a key file */
};

static const char MAGIC[8] = {'R', 'A', 'T', 'I', 'F', 'Y', 'B', 'K'};
static const char KEY_CHECK_TEXT[] = "Ratify backup key check, format 1";

_Static_assert(OFF_STREAM_HEADER + crypto_secretstream_xchacha20poly1305_HEADERBYTES ==
                   BACKUP_HEADER_BYTES,
               "the header layout in backup.h");
_Static_assert(crypto_secretstream_xchacha20poly1305_KEYBYTES == BACKUP_KEY_BYTES, "key size");
_Static_assert(SALT_BYTES == 16, "the salt field is 16 bytes");

/* What a passphrase costs to stretch: MODERATE (256 MiB, about a second)
 * suits a nightly job and makes each guess at a stolen backup as dear. */
#define BACKUP_OPSLIMIT crypto_pwhash_OPSLIMIT_MODERATE
#define BACKUP_MEMLIMIT crypto_pwhash_MEMLIMIT_MODERATE
/* The most a backup's header may ask for: a hostile file must not make a
 * restore allocate gigabytes or run for minutes. */
#define MAX_OPSLIMIT 16
#define MAX_MEMLIMIT crypto_pwhash_MEMLIMIT_SENSITIVE

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---------------------------------------------------------------- files */

Result backup_write_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return R_INTERNAL;
        p += n;
        len -= (size_t)n;
    }
    return R_OK;
}

Result backup_read_file(const char *path, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "ratify: cannot open %s: %s\n", path, strerror(errno));
        return R_NOT_FOUND;
    }
    struct stat sb;
    Result r = R_INTERNAL;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "ratify: %s is not a regular file\n", path);
        goto done;
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *buf = xmalloc(size ? size : 1);
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != size) {
        fprintf(stderr, "ratify: cannot read %s: %s\n", path, strerror(errno));
        free(buf);
        goto done;
    }
    *data = buf;
    *len = size;
    r = R_OK;
done:
    close(fd);
    return r;
}

int backup_file_open(const char *path, char **tmp)
{
    size_t n = strlen(path) + sizeof ".tmp.XXXXXX";
    *tmp = xmalloc(n);
    snprintf(*tmp, n, "%s.tmp.XXXXXX", path);
    /* mkstemp creates the file with mode 0600, beside path so that the
     * rename stays within one file system. */
    int fd = mkostemp(*tmp, O_CLOEXEC);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        fprintf(stderr, "ratify: cannot create a file beside %s: %s\n", path, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(*tmp);
        }
        free(*tmp);
        *tmp = NULL;
        return -1;
    }
    return fd;
}

void backup_file_abort(int fd, char *tmp)
{
    if (fd >= 0)
        close(fd);
    if (tmp)
        unlink(tmp);
    free(tmp);
}

/* Makes the rename durable: the directory entry is data too. */
static void sync_directory_of(const char *path)
{
    char *copy = xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

Result backup_file_commit(int fd, char *tmp, const char *path, int overwrite)
{
    Result r = R_INTERNAL;
    if (fsync(fd) != 0) {
        fprintf(stderr, "ratify: cannot write %s: %s\n", path, strerror(errno));
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        fprintf(stderr, "ratify: cannot write %s: %s\n", path, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (overwrite) {
        if (rename(tmp, path) != 0) {
            fprintf(stderr, "ratify: cannot write %s: %s\n", path, strerror(errno));
            goto fail;
        }
    } else {
        /* link() fails if path exists: no window in which another file
         * could be replaced, unlike a check followed by a rename. */
        if (link(tmp, path) != 0) {
            if (errno == EEXIST) {
                fprintf(stderr, "ratify: %s already exists\n", path);
                r = R_CONFLICT;
            } else {
                fprintf(stderr, "ratify: cannot write %s: %s\n", path, strerror(errno));
            }
            goto fail;
        }
        unlink(tmp);
    }
    free(tmp);
    sync_directory_of(path);
    return R_OK;
fail:
    backup_file_abort(fd, tmp);
    return r;
}

/* ---------------------------------------------------------------- secrets */

void backup_secret_clear(BackupSecret *s)
{
    sodium_memzero(s, sizeof *s);
}

/* Secrets that others can read are not secret: say so, without refusing
 * (the administrator may have reasons, e.g. a group of operators). */
static void warn_if_shared(int fd, const char *path)
{
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 077))
        fprintf(stderr, "ratify: warning: others may read %s; chmod 600 it\n", path);
}

/* Reads at most max bytes of the file at path into buf; *len is what was
 * read, and more than max means the file is too long. */
static Result read_small_file(const char *path, char *buf, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "ratify: cannot open %s: %s\n", path, strerror(errno));
        return R_NOT_FOUND;
    }
    warn_if_shared(fd, path);
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, max + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "ratify: cannot read %s: %s\n", path, strerror(errno));
            close(fd);
            return R_INTERNAL;
        }
        if (n == 0 || (got += (size_t)n) == max + 1)
            break;
    }
    close(fd);
    *len = got;
    return R_OK;
}

Result backup_secret_from_key_file(BackupSecret *s, const char *path)
{
    char text[KEY_FILE_MAX + 1];
    size_t n;
    backup_secret_clear(s);
    Result r = read_small_file(path, text, KEY_FILE_MAX, &n);
    if (r != R_OK)
        return r;
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        n--;
    size_t bin_len = 0;
    if (n != 2 * BACKUP_KEY_BYTES ||
        sodium_hex2bin(s->key, sizeof s->key, text, n, NULL, &bin_len, NULL) != 0 ||
        bin_len != BACKUP_KEY_BYTES) {
        fprintf(stderr,
                "ratify: %s is not a backup key file (64 hex digits, made by "
                "'ratify backup-key')\n",
                path);
        sodium_memzero(text, sizeof text);
        backup_secret_clear(s);
        return R_BAD_REQUEST;
    }
    sodium_memzero(text, sizeof text);
    s->kind = BACKUP_SECRET_KEY;
    return R_OK;
}

/* Fills s with the passphrase p (n bytes), dropping one line ending. */
static Result set_passphrase(BackupSecret *s, const char *p, size_t n, const char *where)
{
    if (n > 0 && p[n - 1] == '\n')
        n--;
    if (n > 0 && p[n - 1] == '\r')
        n--;
    if (n == 0) {
        fprintf(stderr, "ratify: the passphrase in %s is empty\n", where);
        return R_BAD_REQUEST;
    }
    if (n > BACKUP_MAX_PASSPHRASE) {
        fprintf(stderr, "ratify: the passphrase in %s is longer than %d bytes\n", where,
                BACKUP_MAX_PASSPHRASE);
        return R_BAD_REQUEST;
    }
    memcpy(s->passphrase, p, n);
    s->passphrase[n] = 0;
    s->passphrase_len = n;
    s->kind = BACKUP_SECRET_PASSPHRASE;
    return R_OK;
}

Result backup_secret_from_passphrase_file(BackupSecret *s, const char *path)
{
    /* Room for the longest passphrase, a CRLF, and one byte more to see
     * that a file is too long. */
    char text[BACKUP_MAX_PASSPHRASE + 3];
    size_t n;
    backup_secret_clear(s);
    Result r = read_small_file(path, text, sizeof text - 1, &n);
    if (r == R_OK)
        r = set_passphrase(s, text, n, path);
    sodium_memzero(text, sizeof text);
    return r;
}

Result backup_secret_from_env(BackupSecret *s)
{
    backup_secret_clear(s);
    const char *p = getenv("RATIFY_BACKUP_PASSPHRASE");
    if (!p)
        return R_NOT_FOUND;
    return set_passphrase(s, p, strlen(p), "RATIFY_BACKUP_PASSPHRASE");
}

Result backup_key_create(const char *path)
{
    unsigned char key[BACKUP_KEY_BYTES];
    char hex[2 * BACKUP_KEY_BYTES + 2];
    char *tmp;
    randombytes_buf(key, sizeof key);
    sodium_bin2hex(hex, sizeof hex, key, sizeof key);
    sodium_memzero(key, sizeof key);
    size_t n = strlen(hex);
    hex[n++] = '\n';
    Result r = R_INTERNAL;
    int fd = backup_file_open(path, &tmp);
    if (fd >= 0) {
        if (backup_write_all(fd, hex, n) == R_OK)
            r = backup_file_commit(fd, tmp, path, 0);
        else
            backup_file_abort(fd, tmp);
    }
    sodium_memzero(hex, sizeof hex);
    return r;
}

/* ---------------------------------------------------------------- the format */

int backup_is_encrypted(const unsigned char *data, size_t len)
{
    return len >= sizeof MAGIC && memcmp(data, MAGIC, sizeof MAGIC) == 0;
}

static void key_check(unsigned char out[KEY_CHECK_BYTES], const unsigned char *key)
{
    crypto_generichash(out, KEY_CHECK_BYTES, (const unsigned char *)KEY_CHECK_TEXT,
                       sizeof KEY_CHECK_TEXT - 1, key, BACKUP_KEY_BYTES);
}

/* Derives the key for s under the header's parameters (filled in already
 * for a passphrase). */
static Result derive_key(unsigned char key[BACKUP_KEY_BYTES], const BackupSecret *s,
                         const unsigned char *header)
{
    if (s->kind == BACKUP_SECRET_KEY) {
        memcpy(key, s->key, BACKUP_KEY_BYTES);
        return R_OK;
    }
    if (crypto_pwhash(key, BACKUP_KEY_BYTES, s->passphrase, s->passphrase_len, header + OFF_SALT,
                      get_u64(header + OFF_OPSLIMIT), (size_t)get_u64(header + OFF_MEMLIMIT),
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        fprintf(stderr, "ratify: not enough memory to derive the key from the passphrase\n");
        return R_INTERNAL;
    }
    return R_OK;
}

Result backup_encrypt(int fd, const unsigned char *plain, size_t len, const BackupSecret *s)
{
    assert(s->kind == BACKUP_SECRET_KEY || s->kind == BACKUP_SECRET_PASSPHRASE);
    unsigned char header[BACKUP_HEADER_BYTES] = {0};
    unsigned char key[BACKUP_KEY_BYTES];
    memcpy(header, MAGIC, sizeof MAGIC);
    header[OFF_VERSION] = FORMAT_VERSION;
    put_u64(header + OFF_PLAIN_LENGTH, len);
    if (s->kind == BACKUP_SECRET_PASSPHRASE) {
        header[OFF_KDF] = KDF_ARGON2ID;
        put_u64(header + OFF_OPSLIMIT, BACKUP_OPSLIMIT);
        put_u64(header + OFF_MEMLIMIT, BACKUP_MEMLIMIT);
        randombytes_buf(header + OFF_SALT, SALT_BYTES);
    } else {
        header[OFF_KDF] = KDF_KEY_FILE;
    }
    if (derive_key(key, s, header) != R_OK)
        return R_INTERNAL;
    key_check(header + OFF_KEY_CHECK, key);
    StreamState st;
    crypto_secretstream_xchacha20poly1305_init_push(&st, header + OFF_STREAM_HEADER, key);
    sodium_memzero(key, sizeof key);
    Result r = backup_write_all(fd, header, sizeof header);
    unsigned char *out = xmalloc(BACKUP_CHUNK + ABYTES);
    size_t off = 0;
    /* One chunk at least, even for no bytes: the FINAL tag must exist. */
    while (r == R_OK) {
        size_t n = len - off < BACKUP_CHUNK ? len - off : BACKUP_CHUNK;
        int last = off + n == len;
        unsigned long long out_len;
        crypto_secretstream_xchacha20poly1305_push(
            &st, out, &out_len, plain + off, n, off == 0 ? header : NULL,
            off == 0 ? OFF_STREAM_HEADER : 0,
            last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                 : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
        r = backup_write_all(fd, out, (size_t)out_len);
        off += n;
        if (last)
            break;
    }
    if (r != R_OK)
        fprintf(stderr, "ratify: cannot write the backup: %s\n", strerror(errno));
    free(out);
    sodium_memzero(&st, sizeof st);
    return r;
}

/* The length of a backup of plain_len bytes. 0 when it would overflow. */
static uint64_t expected_length(uint64_t plain_len)
{
    if (plain_len > UINT64_MAX / 2)
        return 0;
    /* As backup_encrypt cuts: full chunks, the last maybe shorter, and one
     * empty chunk when there are no bytes at all. */
    uint64_t chunks = plain_len == 0 ? 1 : (plain_len + BACKUP_CHUNK - 1) / BACKUP_CHUNK;
    return BACKUP_HEADER_BYTES + plain_len + chunks * ABYTES;
}

/* Compares the file's length with the one its header announces. The
 * header is authenticated only later, with the first chunk: a changed
 * length field is reported as truncation or extra bytes, which it also
 * causes, and the chunk check would refuse it in any case. */
static Result check_length(const unsigned char *data, size_t len)
{
    uint64_t want = expected_length(get_u64(data + OFF_PLAIN_LENGTH));
    if (want == 0 || len < want) {
        fprintf(stderr, "ratify: the backup is truncated: it has %zu bytes of %llu\n", len,
                (unsigned long long)want);
        return R_INTERNAL;
    }
    if (len > want) {
        fprintf(stderr, "ratify: the backup has %llu unexpected bytes after its end\n",
                (unsigned long long)(len - want));
        return R_INTERNAL;
    }
    return R_OK;
}

/* Checks the header's fixed fields, the file's length, and that s is the
 * kind of secret it needs; prints why not. */
static Result check_header(const unsigned char *data, size_t len, const BackupSecret *s)
{
    Result r;
    if (!backup_is_encrypted(data, len)) {
        fprintf(stderr, "ratify: this is not a Ratify backup\n");
        return R_UNSUPPORTED;
    }
    if (len < BACKUP_HEADER_BYTES) {
        fprintf(stderr, "ratify: the backup is truncated: its header is incomplete\n");
        return R_INTERNAL;
    }
    if (data[OFF_VERSION] != FORMAT_VERSION) {
        fprintf(stderr, "ratify: the backup has format version %d; this Ratify reads %d\n",
                data[OFF_VERSION], FORMAT_VERSION);
        return R_UNSUPPORTED;
    }
    r = check_length(data, len);
    if (r != R_OK)
        return r;
    int kdf = data[OFF_KDF];
    if (kdf == KDF_KEY_FILE && s->kind != BACKUP_SECRET_KEY) {
        fprintf(stderr, "ratify: the backup is encrypted with a key file: give --key-file\n");
        return R_BAD_REQUEST;
    }
    if (kdf == KDF_ARGON2ID && s->kind != BACKUP_SECRET_PASSPHRASE) {
        fprintf(stderr, "ratify: the backup is encrypted with a passphrase: give "
                        "--passphrase-file or set RATIFY_BACKUP_PASSPHRASE\n");
        return R_BAD_REQUEST;
    }
    uint64_t ops = get_u64(data + OFF_OPSLIMIT), mem = get_u64(data + OFF_MEMLIMIT);
    if ((kdf != KDF_KEY_FILE && kdf != KDF_ARGON2ID) ||
        (kdf == KDF_ARGON2ID && (ops < crypto_pwhash_OPSLIMIT_MIN || ops > MAX_OPSLIMIT ||
                                 mem < crypto_pwhash_MEMLIMIT_MIN || mem > MAX_MEMLIMIT))) {
        fprintf(stderr, "ratify: the backup's header is damaged or altered\n");
        return R_INTERNAL;
    }
    return R_OK;
}

/* Opens the stream: derives the key and checks it against the header. */
static Result open_stream(StreamState *st, const unsigned char *header, const BackupSecret *s)
{
    unsigned char key[BACKUP_KEY_BYTES], check[KEY_CHECK_BYTES];
    Result r = derive_key(key, s, header);
    if (r != R_OK)
        return r;
    key_check(check, key);
    if (sodium_memcmp(check, header + OFF_KEY_CHECK, KEY_CHECK_BYTES) != 0) {
        fprintf(stderr, "ratify: wrong %s: it does not open this backup\n",
                s->kind == BACKUP_SECRET_KEY ? "key" : "passphrase");
        r = R_FORBIDDEN;
    } else if (crypto_secretstream_xchacha20poly1305_init_pull(st, header + OFF_STREAM_HEADER,
                                                               key) != 0) {
        fprintf(stderr, "ratify: the backup's header is damaged or altered\n");
        r = R_INTERNAL;
    }
    sodium_memzero(key, sizeof key);
    return r;
}

/* Decrypts the chunks after the header into plain (room for len bytes). */
static Result pull_chunks(StreamState *st, const unsigned char *data, size_t len,
                          unsigned char *plain, size_t *plain_len)
{
    size_t off = BACKUP_HEADER_BYTES, pos = 0;
    for (;;) {
        if (off == len) {
            fprintf(stderr, "ratify: the backup is truncated: it ends before its last part\n");
            return R_INTERNAL;
        }
        size_t n = len - off < BACKUP_CHUNK + ABYTES ? len - off : BACKUP_CHUNK + ABYTES;
        unsigned long long m;
        unsigned char tag;
        if (n < ABYTES ||
            crypto_secretstream_xchacha20poly1305_pull(
                st, plain + pos, &m, &tag, data + off, n, off == BACKUP_HEADER_BYTES ? data : NULL,
                off == BACKUP_HEADER_BYTES ? OFF_STREAM_HEADER : 0) != 0) {
            fprintf(stderr,
                    "ratify: the backup is damaged, altered or truncated: the part at byte "
                    "%zu fails its check\n",
                    off);
            return R_INTERNAL;
        }
        pos += (size_t)m;
        off += n;
        if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL)
            break;
    }
    if (off != len) {
        fprintf(stderr, "ratify: the backup has %zu unexpected bytes after its end\n", len - off);
        return R_INTERNAL;
    }
    *plain_len = pos;
    return R_OK;
}

Result backup_decrypt(const unsigned char *data, size_t len, const BackupSecret *s,
                      unsigned char **plain, size_t *plain_len)
{
    *plain = NULL;
    *plain_len = 0;
    Result r = check_header(data, len, s);
    if (r != R_OK)
        return r;
    StreamState st;
    r = open_stream(&st, data, s);
    if (r != R_OK)
        return r;
    size_t room = len - BACKUP_HEADER_BYTES;
    unsigned char *out = xmalloc(room ? room : 1);
    size_t out_len = 0;
    r = pull_chunks(&st, data, len, out, &out_len);
    sodium_memzero(&st, sizeof st);
    if (r != R_OK) {
        backup_plain_free(out, room);
        return r;
    }
    *plain = out;
    *plain_len = out_len;
    return R_OK;
}

void backup_plain_free(unsigned char *plain, size_t len)
{
    if (!plain)
        return;
    sodium_memzero(plain, len);
    free(plain);
}
