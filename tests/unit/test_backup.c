/*
 * test_backup.c: the encrypted backup format on its own: round trips at
 * chunk boundaries, with a key and with a passphrase, and the refusals (a
 * wrong key, a flipped bit anywhere, every truncation, extra bytes, the
 * wrong kind of secret), each returning nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "db/backup.h"

/* Encrypts plain under s and returns the file's bytes (the caller frees). */
static unsigned char *encrypt_to_memory(const unsigned char *plain, size_t len,
                                        const BackupSecret *s, size_t *out_len)
{
    int fd = memfd_create("backup", 0);
    assert_true(fd >= 0);
    assert_int_equal(backup_encrypt(fd, plain, len, s), R_OK);
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char *out = malloc((size_t)size + 1);
    assert_int_equal(pread(fd, out, (size_t)size, 0), size);
    close(fd);
    *out_len = (size_t)size;
    return out;
}

static void key_secret(BackupSecret *s, unsigned char fill)
{
    backup_secret_clear(s);
    s->kind = BACKUP_SECRET_KEY;
    memset(s->key, fill, sizeof s->key);
}

static unsigned char *pattern(size_t len)
{
    unsigned char *p = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i * 7 + i / 251);
    return p;
}

static void test_round_trip_at_chunk_boundaries(void **state)
{
    (void)state;
    const size_t sizes[] = {0,
                            1,
                            BACKUP_CHUNK - 1,
                            BACKUP_CHUNK,
                            BACKUP_CHUNK + 1,
                            3 * BACKUP_CHUNK,
                            3 * BACKUP_CHUNK + 12345};
    BackupSecret s;
    key_secret(&s, 0x42);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *plain = pattern(sizes[i]);
        size_t enc_len, out_len;
        unsigned char *enc = encrypt_to_memory(plain, sizes[i], &s, &enc_len);
        assert_true(backup_is_encrypted(enc, enc_len));
        unsigned char *out;
        assert_int_equal(backup_decrypt(enc, enc_len, &s, &out, &out_len), R_OK);
        assert_int_equal(out_len, sizes[i]);
        assert_memory_equal(out, plain, sizes[i]);
        backup_plain_free(out, out_len);
        free(enc);
        free(plain);
    }
}

static void test_passphrase_round_trip_and_wrong_passphrase(void **state)
{
    (void)state;
    BackupSecret s;
    backup_secret_clear(&s);
    s.kind = BACKUP_SECRET_PASSPHRASE;
    strcpy(s.passphrase, "a long enough passphrase");
    s.passphrase_len = strlen(s.passphrase);
    unsigned char *plain = pattern(1000);
    size_t enc_len, out_len;
    unsigned char *enc = encrypt_to_memory(plain, 1000, &s, &enc_len);
    /* A new salt each time: the same passphrase never gives the same key. */
    size_t again_len;
    unsigned char *again = encrypt_to_memory(plain, 1000, &s, &again_len);
    assert_memory_not_equal(enc + 28, again + 28, 16);
    free(again);
    unsigned char *out;
    assert_int_equal(backup_decrypt(enc, enc_len, &s, &out, &out_len), R_OK);
    assert_memory_equal(out, plain, 1000);
    backup_plain_free(out, out_len);

    s.passphrase[0] ^= 1;
    assert_int_equal(backup_decrypt(enc, enc_len, &s, &out, &out_len), R_FORBIDDEN);
    assert_null(out);
    BackupSecret k;
    key_secret(&k, 1);
    assert_int_equal(backup_decrypt(enc, enc_len, &k, &out, &out_len), R_BAD_REQUEST);
    assert_null(out);
    free(enc);
    free(plain);
}

static void test_every_flipped_bit_and_every_cut_is_refused(void **state)
{
    (void)state;
    BackupSecret s;
    key_secret(&s, 0x17);
    size_t len = BACKUP_CHUNK + 100, enc_len, out_len;
    unsigned char *plain = pattern(len);
    unsigned char *enc = encrypt_to_memory(plain, len, &s, &enc_len);
    unsigned char *out;
    /* Every byte of the header and of the chunks' edges, and a sample of
     * the rest: a flip anywhere is refused. */
    for (size_t i = 0; i < enc_len; i += (i < 200 || i > enc_len - 200) ? 1 : 97) {
        enc[i] ^= 0x20;
        assert_int_not_equal(backup_decrypt(enc, enc_len, &s, &out, &out_len), R_OK);
        assert_null(out);
        enc[i] ^= 0x20;
    }
    for (size_t cut = 0; cut < enc_len; cut += cut < 200 ? 1 : 1013) {
        assert_int_not_equal(backup_decrypt(enc, cut, &s, &out, &out_len), R_OK);
        assert_null(out);
    }
    unsigned char *longer = malloc(enc_len + 1);
    memcpy(longer, enc, enc_len);
    longer[enc_len] = 0;
    assert_int_equal(backup_decrypt(longer, enc_len + 1, &s, &out, &out_len), R_INTERNAL);
    free(longer);
    BackupSecret wrong;
    key_secret(&wrong, 0x18);
    assert_int_equal(backup_decrypt(enc, enc_len, &wrong, &out, &out_len), R_FORBIDDEN);
    assert_int_equal(
        backup_decrypt((const unsigned char *)"SQLite format 3", 16, &s, &out, &out_len),
        R_UNSUPPORTED);
    assert_int_equal(backup_decrypt(enc, enc_len, &s, &out, &out_len), R_OK);
    backup_plain_free(out, out_len);
    free(enc);
    free(plain);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    /* The refusals print why; the test only needs their codes. */
    if (!getenv("TEST_VERBOSE"))
        freopen("/dev/null", "w", stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_at_chunk_boundaries),
        cmocka_unit_test(test_passphrase_round_trip_and_wrong_passphrase),
        cmocka_unit_test(test_every_flipped_bit_and_every_cut_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
