/* Intercom's times as Unix seconds: integers from REST, ISO 8601 strings from some webhooks. */
#include "unit.h"

#include "tb_time.h"

#include <json-c/json.h>

static void iso_with_fraction_and_offset(void)
{
    CHECK_INT(tb_time_parse_iso("2026-01-10T04:22:28.240+00:00"), 1768018948);
    CHECK_INT(tb_time_parse_iso("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(tb_time_parse_iso("2024-02-29T12:00:00Z"), 1709208000);
    CHECK_INT(tb_time_parse_iso("2026-01-10T05:22:28+01:00"), 1768018948);
    CHECK_INT(tb_time_parse_iso("2026-01-10T03:22:28-0100"), 1768018948);
}

static void malformed_iso_is_refused(void)
{
    const char *bad[] = {"", "2026", "2026-13-01T00:00:00Z", "2026-01-10T04:22:28",
                         "2026-01-10T04:22:28Zjunk", "2026-01-10T24:00:00Z", "2026-01-10T04:22:28.Z",
                         "x026-01-10T04:22:28Z", "2026-01-10T04:22:28+25:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_INT(tb_time_parse_iso(bad[i]), -1);
    CHECK_INT(tb_time_parse_iso(NULL), -1);
}

static void members_of_every_shape(void)
{
    json_object *o = json_tokener_parse(
        "{\"int\":1663597223,\"iso\":\"2022-09-19T14:20:23.000+00:00\",\"text\":\"1663597223\","
        "\"double\":1663597223.5,\"neg\":-5,\"null\":null,\"word\":\"soon\"}");
    CHECK_INT(tb_time_member(o, "int"), 1663597223);
    CHECK_INT(tb_time_member(o, "iso"), 1663597223);
    CHECK_INT(tb_time_member(o, "text"), 1663597223);
    CHECK_INT(tb_time_member(o, "double"), 1663597223);
    CHECK_INT(tb_time_member(o, "neg"), -1);
    CHECK_INT(tb_time_member(o, "null"), -1);
    CHECK_INT(tb_time_member(o, "word"), -1);
    CHECK_INT(tb_time_member(o, "absent"), -1);
    json_object_put(o);
}

int main(void)
{
    RUN(iso_with_fraction_and_offset);
    RUN(malformed_iso_is_refused);
    RUN(members_of_every_shape);
    UNIT_DONE();
}
