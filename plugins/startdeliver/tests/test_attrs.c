/* Attributes: names, types per model, diffs that hold only changes, applying them. */
#include "unit.h"

#include "sd_attrs.h"

static json_object *parse(const char *text)
{
    json_object *o = json_tokener_parse(text);
    if (!o) {
        fprintf(stderr, "bad test JSON: %s\n", text);
        exit(2);
    }
    return o;
}

static const char *plain(json_object *o)
{
    return o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "(null)";
}

static const char *user_json =
    "{\"id\":\"u1\",\"usage_health\":\"Poor\",\"health_score\":72,\"last_login\":1700000000,"
    "\"custom_fields\":{\"plan\":\"pro\",\"seats\":12,\"arr\":1200.5,\"trial\":false,"
    "\"note\":\"\"},\"intercom_contact_id\":\"c1\"}";

static void test_contact_attributes_are_typed(void)
{
    json_object *user = parse(user_json);
    json_object *d = sd_attrs_desired(user, SD_MODEL_CONTACT);
    CHECK_STR(plain(d), "{\"sd_usage_health\":\"Poor\",\"sd_health_score\":72.0,"
                        "\"sd_last_login\":1700000000,\"sd_plan\":\"pro\",\"sd_seats\":12,"
                        "\"sd_arr\":1200.5,\"sd_trial\":false}");
    json_object *v;
    static const struct {
        const char *name;
        enum sd_attr_type type;
    } want[] = {{"sd_usage_health", SD_ATTR_STRING}, {"sd_health_score", SD_ATTR_FLOAT},
                {"sd_last_login", SD_ATTR_DATETIME}, {"sd_plan", SD_ATTR_STRING},
                {"sd_seats", SD_ATTR_INTEGER},      {"sd_arr", SD_ATTR_FLOAT},
                {"sd_trial", SD_ATTR_BOOLEAN}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK(json_object_object_get_ex(d, want[i].name, &v));
        CHECK_INT(sd_attr_type_for(SD_MODEL_CONTACT, want[i].name, v), want[i].type);
    }
    json_object_put(d);
    json_object_put(user);
}

static void test_company_attributes_are_strings(void)
{
    json_object *customer = parse(user_json);
    json_object *d = sd_attrs_desired(customer, SD_MODEL_COMPANY);
    CHECK_STR(plain(d), "{\"sd_usage_health\":\"Poor\",\"sd_health_score\":\"72\","
                        "\"sd_last_login\":\"2023-11-14T22:13:20Z\",\"sd_plan\":\"pro\","
                        "\"sd_seats\":\"12\",\"sd_arr\":\"1200.5\",\"sd_trial\":\"false\"}");
    json_object *v;
    json_object_object_get_ex(d, "sd_seats", &v);
    CHECK_INT(sd_attr_type_for(SD_MODEL_COMPANY, "sd_seats", v), SD_ATTR_STRING);
    json_object_put(d);
    json_object_put(customer);
}

static void test_diff_holds_only_changes(void)
{
    json_object *desired = parse("{\"sd_a\":1,\"sd_b\":\"x\",\"sd_c\":2.5}");
    json_object *all = sd_attrs_diff(desired, NULL, SD_MODEL_CONTACT); /* nothing written yet */
    CHECK_STR(plain(all), "{\"sd_a\":1,\"sd_b\":\"x\",\"sd_c\":2.5}");
    json_object *pushed = sd_attrs_apply(NULL, all, SD_MODEL_CONTACT);
    CHECK(sd_attrs_diff(desired, pushed, SD_MODEL_CONTACT) == NULL); /* nothing changed */
    json_object *changed = parse("{\"sd_a\":1,\"sd_b\":\"y\",\"sd_c\":2.5}");
    json_object *diff = sd_attrs_diff(changed, pushed, SD_MODEL_CONTACT);
    CHECK_STR(plain(diff), "{\"sd_b\":\"y\"}");
    json_object_put(diff);
    json_object_put(changed);
    json_object_put(pushed);
    json_object_put(all);
    json_object_put(desired);
}

static void test_removed_values_are_cleared(void)
{
    json_object *pushed = parse("{\"sd_a\":\"1\",\"sd_b\":\"2\"}");
    json_object *desired = parse("{\"sd_a\":\"1\"}");
    json_object *contact = sd_attrs_diff(desired, pushed, SD_MODEL_CONTACT);
    json_object *company = sd_attrs_diff(desired, pushed, SD_MODEL_COMPANY);
    CHECK_STR(plain(contact), "{\"sd_b\":null}");
    CHECK_STR(plain(company), "{\"sd_b\":\"\"}");
    json_object *after = sd_attrs_apply(pushed, company, SD_MODEL_COMPANY);
    CHECK_STR(plain(after), "{\"sd_a\":\"1\"}");
    CHECK(sd_attrs_diff(desired, after, SD_MODEL_COMPANY) == NULL);
    json_object_put(after);
    json_object_put(company);
    json_object_put(contact);
    json_object_put(desired);
    json_object_put(pushed);
}

static void test_state_survives_storage(void)
{
    /* What is pushed is stored as JSON text and read back: the diff must still be empty. */
    json_object *user = parse(user_json);
    json_object *d = sd_attrs_desired(user, SD_MODEL_CONTACT);
    json_object *pushed = sd_attrs_apply(NULL, d, SD_MODEL_CONTACT);
    json_object *stored = parse(json_object_to_json_string_ext(pushed, JSON_C_TO_STRING_PLAIN));
    CHECK(sd_attrs_diff(d, stored, SD_MODEL_CONTACT) == NULL);
    json_object_put(stored);
    json_object_put(pushed);
    json_object_put(d);
    json_object_put(user);
}

static void test_types(void)
{
    CHECK(sd_attr_type_compatible(SD_ATTR_FLOAT, SD_ATTR_INTEGER));
    CHECK(!sd_attr_type_compatible(SD_ATTR_INTEGER, SD_ATTR_FLOAT));
    CHECK(!sd_attr_type_compatible(SD_ATTR_STRING, SD_ATTR_BOOLEAN));
    CHECK_INT(sd_attr_type_parse("datetime"), SD_ATTR_DATETIME);
    CHECK_INT(sd_attr_type_parse("options"), SD_ATTR_OTHER);
    CHECK_STR(sd_attr_type_name(SD_ATTR_BOOLEAN), "boolean");
    CHECK_STR(sd_model_name(SD_MODEL_COMPANY), "company");
}

int main(void)
{
    RUN(test_contact_attributes_are_typed);
    RUN(test_company_attributes_are_strings);
    RUN(test_diff_holds_only_changes);
    RUN(test_removed_values_are_cleared);
    RUN(test_state_survives_storage);
    RUN(test_types);
    UNIT_DONE();
}
