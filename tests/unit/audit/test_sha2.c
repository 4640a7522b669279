/* Unit tests for sha2: FIPS 180-4 example vectors for SHA-256/384/512, fed whole and split at
 * every offset, and RFC 4648 base64 vectors. */
#include "sha2.h"

#include <criterion/criterion.h>
#include <string.h>

static void b64_of(fca_sha2_alg_t alg, const char *msg, size_t cut, char *out) {
  fca_sha2_t c;
  unsigned char d[64];
  fca_sha2_init(&c, alg);
  size_t n = strlen(msg);
  fca_sha2_update(&c, msg, cut);
  fca_sha2_update(&c, msg + cut, n - cut);
  size_t dl = fca_sha2_final(&c, d);
  cr_assert_eq(dl, fca_sha2_digest_len(alg));
  fca_base64_encode(d, dl, out);
}

Test(sha2, vectors_at_every_split) {
  static const char two_block[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  static const char long512[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                                "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
  struct {
    fca_sha2_alg_t alg;
    const char *msg, *b64;
  } v[] = {
      {FCA_SHA256, "", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
      {FCA_SHA256, "abc", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="},
      {FCA_SHA256, two_block, "JI1qYdIGOLjlwCaTDD5gOaM85Flk/yFn9uzt1BnbBsE="},
      {FCA_SHA384, "abc", "ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"},
      {FCA_SHA512, "abc",
       "3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="},
      {FCA_SHA512, long512,
       "jpWbddrjE9qM9PcoFPwUP493ecbrn3+hcpmurbaIkBhQHSieSQD35DMbmd7EtUM6x9Mp7rbdJlReluVbh0vpCQ=="},
  };
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    for (size_t cut = 0; cut <= strlen(v[i].msg); cut++) {
      char out[100];
      b64_of(v[i].alg, v[i].msg, cut, out);
      cr_assert_str_eq(out, v[i].b64, "vector %zu cut %zu", i, cut);
    }
}

Test(sha2, base64_rfc4648) {
  const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (size_t i = 0; i < 7; i++) {
    char b[16];
    size_t n = fca_base64_encode((const unsigned char *)in[i], strlen(in[i]), b);
    cr_assert_str_eq(b, out[i]);
    cr_assert_eq(n, strlen(out[i]));
  }
}
