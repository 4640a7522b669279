/* testca: certificates for the test origins, made with the OpenSSL API in a test's temp dir:
 * a root CA (ca.pem, ca.key) and leaves it signs. Leaves carry a SAN for every name (IP for an
 * address literal, DNS otherwise), EKU serverAuth and a P-256 key. Bad leaves (expired, wrong
 * name) exist for verification-failure tests. Nothing here is trusted outside a test. */
#ifndef FCA_TEST_TESTCA_H
#define FCA_TEST_TESTCA_H

#include <stddef.h>

/* Names every test origin certificate covers unless a test asks for others. */
extern const char *const fca_testca_default_names[];
extern const size_t fca_testca_default_count;

/* Writes dir/ca.pem, dir/ca.key (a new root CA) and dir/leaf.pem, dir/leaf.key (a leaf for the
 * names, valid from a day ago for 30 days). Returns 0, or -1 with a message on stderr. */
int fca_testca_make(const char *dir, const char *const *names, size_t n);

/* With dir/ca.pem and dir/ca.key already made: writes dir/STEM.pem and dir/STEM.key, a leaf for
 * the names valid from now+not_before_days to now+not_after_days (negative: in the past). */
int fca_testca_make_leaf(const char *dir, const char *stem, const char *const *names, size_t n,
                         int not_before_days, int not_after_days);

/* dir/expired.pem, dir/expired.key: the names, but expired yesterday (valid -30d..-1d). */
int fca_testca_make_expired(const char *dir, const char *const *names, size_t n);

/* dir/wrong.pem, dir/wrong.key: valid, but only for "wrong-name.test". */
int fca_testca_make_wrong_name(const char *dir);

#endif
