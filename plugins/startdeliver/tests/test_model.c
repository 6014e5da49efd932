/* Product records: validation and canonical form; emails; contact matching order. */
#include "unit.h"

#include "sd_model.h"

static json_object *record(enum sd_record_kind kind, const char *text, const char *path_id,
                           char *err)
{
    json_object *in = json_tokener_parse(text);
    json_object *out = sd_record_from_input(kind, in, path_id, err, 200);
    json_object_put(in);
    return out;
}

static void test_user_canonical_form(void)
{
    char err[200] = "";
    json_object *u = record(SD_RECORD_USER,
                            "{\"id\":\"u-1\",\"email\":\"  Ann@Example.COM \",\"name\":\"Ann\","
                            "\"customer_id\":\"acme\",\"usage_health\":\"Good\","
                            "\"health_score\":72.5,\"last_login\":1700000000,"
                            "\"custom_fields\":{\"plan\":\"pro\",\"seats\":12,\"gone\":null}}",
                            NULL, err);
    CHECK(u != NULL);
    CHECK_STR(json_object_to_json_string_ext(u, JSON_C_TO_STRING_PLAIN),
              "{\"id\":\"u-1\",\"name\":\"Ann\",\"usage_health\":\"Good\",\"customer_id\":\"acme\","
              "\"email\":\"ann@example.com\",\"health_score\":72.5,\"last_login\":1700000000,"
              "\"custom_fields\":{\"plan\":\"pro\",\"seats\":12}}");
    json_object_put(u);
}

static void test_path_id(void)
{
    char err[200] = "";
    json_object *u = record(SD_RECORD_CUSTOMER, "{\"name\":\"Acme\"}", "acme", err);
    CHECK_STR(json_object_to_json_string_ext(u, JSON_C_TO_STRING_PLAIN),
              "{\"id\":\"acme\",\"name\":\"Acme\"}");
    json_object_put(u);
    CHECK(record(SD_RECORD_CUSTOMER, "{\"id\":\"other\"}", "acme", err) == NULL);
    CHECK_STR(err, "the body's id differs from the one in the path");
    u = record(SD_RECORD_USER, "{\"id\":77}", NULL, err); /* numeric ids become text */
    CHECK_STR(json_object_to_json_string_ext(u, JSON_C_TO_STRING_PLAIN), "{\"id\":\"77\"}");
    json_object_put(u);
}

static void test_rejections(void)
{
    static const struct {
        enum sd_record_kind kind;
        const char *input;
        const char *error;
    } cases[] = {
        {SD_RECORD_USER, "{}", "id is required"},
        {SD_RECORD_USER, "{\"id\":\"a|b\"}", "id must be 1-128 characters"},
        {SD_RECORD_USER, "{\"id\":\"u\",\"emial\":\"x@y.z\"}", "unknown field 'emial'"},
        {SD_RECORD_USER, "{\"id\":\"u\",\"email\":\"nobody\"}", "email is not an address"},
        {SD_RECORD_USER, "{\"id\":\"u\",\"email\":\"a@b@c\"}", "email is not an address"},
        {SD_RECORD_USER, "{\"id\":\"u\",\"health_score\":\"high\"}", "health_score must be a number"},
        {SD_RECORD_USER, "{\"id\":\"u\",\"last_login\":-1}", "last_login must be a Unix time"},
        {SD_RECORD_USER, "{\"id\":\"u\",\"customer_id\":\"\"}", "customer_id must be 1-128"},
        {SD_RECORD_USER, "{\"id\":\"u\",\"custom_fields\":{\"Plan\":1}}", "must be 1-40 of [a-z0-9_]"},
        {SD_RECORD_USER, "{\"id\":\"u\",\"custom_fields\":{\"x\":[1]}}", "must be a string"},
        {SD_RECORD_USER, "{\"id\":\"u\",\"custom_fields\":{\"health_score\":1}}", "is reserved"},
        {SD_RECORD_CUSTOMER, "{\"id\":\"c\",\"email\":\"a@b.c\"}", "unknown field 'email'"},
        {SD_RECORD_CUSTOMER, "[1]", "a customer must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[200] = "";
        json_object *r = record(cases[i].kind, cases[i].input, NULL, err);
        CHECK(r == NULL);
        CHECK_CONTAINS(err, cases[i].error);
        json_object_put(r);
    }
}

static void test_email_and_ids(void)
{
    char *e = sd_email_normalize(" Bob@Example.org\n");
    CHECK_STR(e, "bob@example.org");
    free(e);
    CHECK(sd_email_normalize("@example.org") == NULL);
    CHECK(sd_email_normalize("bob@") == NULL);
    CHECK(sd_email_normalize("b ob@x.y") == NULL);
    CHECK(sd_email_normalize(NULL) == NULL);
    CHECK(sd_id_valid("user.1:x@y+z-"));
    CHECK(!sd_id_valid("with space"));
    CHECK(!sd_id_valid(""));
    char *u = sd_created_user_id("ext-9", "c1");
    CHECK_STR(u, "ext-9");
    free(u);
    u = sd_created_user_id("has space", "c1");
    CHECK_STR(u, "intercom-c1");
    free(u);
    u = sd_created_customer_id(NULL, "6762");
    CHECK_STR(u, "intercom-company-6762");
    free(u);
}

/* A tiny user table: u1 (ann@x.io), u2 (bob@x.io). */
static char *by_id(void *arg, const char *id)
{
    (void)arg;
    return strcmp(id, "u1") == 0 || strcmp(id, "u2") == 0 ? strdup(id) : NULL;
}

static char *by_email(void *arg, const char *email)
{
    int *calls = arg;
    (*calls)++;
    if (strcmp(email, "ann@x.io") == 0)
        return strdup("u1");
    if (strcmp(email, "bob@x.io") == 0)
        return strdup("u2");
    return NULL;
}

static void test_matching_prefers_external_id(void)
{
    int email_lookups = 0;
    struct sd_user_lookup lookup = {by_id, by_email, &email_lookups};
    char *user;
    /* external id names u2 although the email is u1's: the external id wins. */
    CHECK_INT(sd_match_contact(&lookup, "u2", "ann@x.io", &user), SD_MATCH_EXTERNAL_ID);
    CHECK_STR(user, "u2");
    CHECK_INT(email_lookups, 0);
    free(user);
    /* unknown external id: falls back to the (normalized) email */
    CHECK_INT(sd_match_contact(&lookup, "u404", "Bob@X.io", &user), SD_MATCH_EMAIL);
    CHECK_STR(user, "u2");
    free(user);
    CHECK_INT(sd_match_contact(&lookup, NULL, "carol@x.io", &user), SD_MATCH_NONE);
    CHECK(user == NULL);
    CHECK_INT(sd_match_contact(&lookup, NULL, NULL, &user), SD_MATCH_NONE);
    CHECK_STR(sd_match_name(SD_MATCH_EMAIL), "email");
}

int main(void)
{
    RUN(test_user_canonical_form);
    RUN(test_path_id);
    RUN(test_rejections);
    RUN(test_email_and_ids);
    RUN(test_matching_prefers_external_id);
    UNIT_DONE();
}
