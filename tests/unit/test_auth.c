/*
 * Unit tests for server/auth: the tokens file (comments, blank lines, CRLF, bad lines,
 * duplicate tokens, unknown scopes, no token in any error), scope lists and auth.open-scopes,
 * Bearer parsing, lookups (every entry compared; admin implies all) and the decision.
 */
#include "test.h"

#include "auth.h"

#define T1 "alpha-0123456789abcdef"
#define T2 "bravo-0123456789abcdef"
#define T3 "charlie-0123456789abcdef"

static srv_auth_t *parse(const char *text, char *err, size_t errlen)
{
    int oom = 0;
    srv_auth_t *a = srv_auth_parse(text, strlen(text), err, errlen, &oom);
    assert_int_equal(oom, 0);
    return a;
}

static void test_parse_good(void **state)
{
    (void)state;
    char err[256] = "";
    srv_auth_t *a = parse("# the cluster\n\n   \n" T1 " replicate\r\n"
                          "\t" T2 "\tregister, discover ,\n" T3 " admin",
                          err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(srv_auth_count(a), 3);
    assert_int_equal(srv_auth_lookup(a, T1, strlen(T1)), SRV_SCOPE_REPLICATE);
    assert_int_equal(srv_auth_lookup(a, T2, strlen(T2)), SRV_SCOPE_REGISTER | SRV_SCOPE_DISCOVER);
    assert_int_equal(srv_auth_lookup(a, T3, strlen(T3)), SRV_SCOPE_ALL); /* admin implies all */
    assert_int_equal(srv_auth_lookup(a, "nope-0123456789abcdef", 21), 0);
    assert_int_equal(srv_auth_lookup(a, T1, strlen(T1) - 1), 0); /* a prefix is not the token */
    assert_int_equal(srv_auth_lookup(a, "", 0), 0);
    srv_auth_free(a);
    a = parse("", err, sizeof(err)); /* empty: a table that refuses every token */
    assert_non_null(a);
    assert_int_equal(srv_auth_count(a), 0);
    assert_int_equal(srv_auth_lookup(a, T1, strlen(T1)), 0);
    srv_auth_free(a);
    assert_int_equal(srv_auth_lookup(NULL, T1, strlen(T1)), 0);
}

static void test_parse_bad(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {T1 "\n", "line 1: a token needs scopes"},
        {"# c\n" T1 " bogus\n", "line 2: has an unknown scope"},
        {T1 " register,replicator\n", "line 1: has an unknown scope"},
        {"short register\n", "line 1: a token must be"},
        {T1 " register\n\n" T1 " discover\n", "line 3: the token of an earlier line"},
        {T1 " ,\n", "line 1: has no scope"},
        {T1 "\x01 register\n", "line 1: a token must be printable"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        assert_null(parse(bad[i].text, err, sizeof(err)));
        assert_non_null(strstr(err, bad[i].want));
        /* an error names the line, never the token */
        assert_null(strstr(err, "0123456789abcdef"));
        assert_null(strstr(err, "short"));
    }
    /* a token pasted into the scope column is not echoed */
    char err[256] = "";
    assert_null(parse(T1 " " T2 "\n", err, sizeof(err)));
    assert_null(strstr(err, "0123456789abcdef"));
}

static void test_scopes(void **state)
{
    (void)state;
    unsigned s = 99;
    assert_null(srv_scopes_parse("", 0, &s));
    assert_int_equal(s, 0);
    const char *l = " register , discover,, operate ";
    assert_null(srv_scopes_parse(l, strlen(l), &s));
    assert_int_equal(s, SRV_SCOPE_REGISTER | SRV_SCOPE_DISCOVER | SRV_SCOPE_OPERATE);
    assert_non_null(srv_scopes_parse("Register", 8, &s)); /* names are lower case */
    assert_null(srv_auth_check_open_scopes("register,discover"));
    assert_null(srv_auth_check_open_scopes(""));
    assert_null(srv_auth_check_open_scopes("operate"));
    assert_non_null(srv_auth_check_open_scopes("register,replicate"));
    assert_non_null(srv_auth_check_open_scopes("admin"));
    assert_non_null(srv_auth_check_open_scopes("everything"));
    assert_string_equal(srv_scope_name(SRV_SCOPE_OPERATE), "operate");
    assert_string_equal(srv_scope_name(SRV_SCOPE_OPERATE | SRV_SCOPE_ADMIN), "?");
}

static void test_bearer(void **state)
{
    (void)state;
    const char *t = NULL;
    size_t n = 0;
    const char *v = "Bearer  abc ";
    assert_int_equal(srv_auth_bearer(v, strlen(v), &t, &n), 1);
    assert_int_equal(n, 3);
    assert_memory_equal(t, "abc", 3);
    v = "bearer xyz";
    assert_int_equal(srv_auth_bearer(v, strlen(v), &t, &n), 1);
    assert_int_equal(n, 3);
    v = "Basic dXNlcjpwYXNz";
    assert_int_equal(srv_auth_bearer(v, strlen(v), &t, &n), 0);
    v = "Bearer";
    assert_int_equal(srv_auth_bearer(v, strlen(v), &t, &n), 0);
    v = "Bearer   ";
    assert_int_equal(srv_auth_bearer(v, strlen(v), &t, &n), 0);
    v = "Bearerabc";
    assert_int_equal(srv_auth_bearer(v, strlen(v), &t, &n), 0);
}

static void test_decide(void **state)
{
    (void)state;
    char err[256];
    srv_auth_t *a = parse(T1 " replicate\n" T2 " discover\n" T3 " admin\n", err, sizeof(err));
    unsigned open = SRV_SCOPE_REGISTER | SRV_SCOPE_DISCOVER;
    /* no tokens file: everything open, as in Java Artemis */
    assert_int_equal(srv_auth_decide(NULL, 0, SRV_SCOPE_ADMIN, NULL, 0), SRV_AUTH_OK);
    assert_int_equal(srv_auth_decide(a, open, SRV_SCOPE_NONE, NULL, 0), SRV_AUTH_OK);
    assert_int_equal(srv_auth_decide(a, open, SRV_SCOPE_REGISTER, NULL, 0), SRV_AUTH_OK);
    assert_int_equal(srv_auth_decide(a, open, SRV_SCOPE_OPERATE, NULL, 0), SRV_AUTH_MISSING);
    assert_int_equal(srv_auth_decide(a, open, SRV_SCOPE_OPERATE, T2, strlen(T2)), SRV_AUTH_SCOPE);
    assert_int_equal(srv_auth_decide(a, open, SRV_SCOPE_OPERATE, T3, strlen(T3)), SRV_AUTH_OK);
    assert_int_equal(srv_auth_decide(a, open, SRV_SCOPE_REPLICATE, T1, strlen(T1)), SRV_AUTH_OK);
    assert_int_equal(srv_auth_decide(a, open, SRV_SCOPE_REPLICATE, T2, strlen(T2)), SRV_AUTH_SCOPE);
    /* a wrong token is reported even where the scope is open */
    assert_int_equal(srv_auth_decide(a, open, SRV_SCOPE_REGISTER, "wrong-0123456789abcdef", 22),
                     SRV_AUTH_INVALID);
    /* a known token without the scope still passes an open scope */
    assert_int_equal(srv_auth_decide(a, open, SRV_SCOPE_REGISTER, T1, strlen(T1)), SRV_AUTH_OK);
    assert_int_equal(srv_auth_decide(a, 0, SRV_SCOPE_DISCOVER, NULL, 0), SRV_AUTH_MISSING);
    srv_auth_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good), cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_scopes),     cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_decide),
    };
    return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
