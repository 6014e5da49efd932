/* Unit tests: storage_url.c - libpq's parser as the check, and the url shown without secrets. */
#include "store/storage_url.h"
#include "unit.h"

#define PASSWORD "s3cret-pw"
#define HIDDEN " (user, password and parameters hidden)"

static void check_display(const char *url, const char *expect)
{
    char *shown = storage_url_display(url);
    CHECK_STR(shown, expect);
    CHECK(strstr(shown, PASSWORD) == NULL);
    free(shown);
}

static void valid_and_invalid(void)
{
    CHECK(storage_url_valid("postgresql://db.internal/switchboard"));
    CHECK(storage_url_valid("postgres://u:" PASSWORD "@db:5433/sb?sslmode=require"));
    CHECK(storage_url_valid("postgresql://%2Fvar%2Frun%2Fpostgresql/sb"));
    CHECK(storage_url_valid("postgresql://h1:5432,h2:5433/sb?target_session_attrs=read-write"));
    CHECK(storage_url_valid("host=/var/run/postgresql dbname=sb"));
    CHECK(storage_url_valid("host=db port=5433 dbname='my db' password=" PASSWORD));
    CHECK(!storage_url_valid("mysql://u:" PASSWORD "@h/db"));
    CHECK(!storage_url_valid("db.internal/switchboard"));
    CHECK(!storage_url_valid("host=db password " PASSWORD));
    CHECK(!storage_url_valid("host=db colour=red"));
    CHECK(!storage_url_valid("postgresql://h/db?colour=red"));
    CHECK(!storage_url_valid("host='db"));
}

static void uri_keeps_where_and_drops_credentials(void)
{
    check_display("postgresql://db.internal/switchboard", "postgresql://db.internal/switchboard");
    check_display("postgres://db", "postgres://db");
    check_display("postgresql://u:" PASSWORD "@db.internal:5432/sb",
                  "postgresql://db.internal:5432/sb" HIDDEN);
    check_display("postgresql://switchboard@db/sb", "postgresql://db/sb" HIDDEN);
    check_display("postgresql://db/sb?sslmode=require&password=" PASSWORD,
                  "postgresql://db/sb" HIDDEN);
    check_display("postgresql://u:" PASSWORD "@h1:5432,h2:5433/sb",
                  "postgresql://h1:5432,h2:5433/sb" HIDDEN);
    check_display("postgresql://%2Fvar%2Frun%2Fpostgresql/sb",
                  "postgresql://%2Fvar%2Frun%2Fpostgresql/sb");
    check_display("postgresql://u:" PASSWORD "@[::1]:5432", "postgresql://[::1]:5432" HIDDEN);
    /* An unescaped '@' in the password: the last one ends the user info. */
    check_display("postgresql://u:p@" PASSWORD "@db/sb", "postgresql://db/sb" HIDDEN);
}

static void uri_with_an_ambiguous_password_shows_only_its_scheme(void)
{
    /* An unescaped '/' or '?' in the password, or an '@' in a parameter: nothing is shown. */
    check_display("postgresql://u:pa/" PASSWORD "@db/sb", "postgresql://" HIDDEN);
    check_display("postgresql://u:pa?" PASSWORD "@db/sb", "postgresql://" HIDDEN);
    check_display("postgresql://db/sb?password=pa@" PASSWORD, "postgresql://" HIDDEN);
}

static void pairs_keep_where_and_drop_the_rest(void)
{
    check_display("host=db port=5433 dbname=sb", "host=db port=5433 dbname=sb");
    check_display("dbname=sb user=switchboard password=" PASSWORD " host=db",
                  "host=db dbname=sb" HIDDEN);
    check_display("hostaddr=10.0.0.7 dbname='my db' sslmode=verify-full",
                  "hostaddr=10.0.0.7 dbname='my db'" HIDDEN);
    check_display("host=/var/run/postgresql", "host=/var/run/postgresql");
    check_display("password=" PASSWORD, "(user, password and parameters hidden)");
    check_display("", "(libpq's defaults)");
    /* A dbname that is itself a connection string may carry a password. */
    check_display("host=db dbname='postgresql://u:" PASSWORD "@h/sb'", "host=db" HIDDEN);
    check_display("host=db dbname='user=u password=" PASSWORD "'", "host=db" HIDDEN);
    check_display("host=db password " PASSWORD, "(not a valid connection string)");
}

int main(void)
{
    RUN(valid_and_invalid);
    RUN(uri_keeps_where_and_drops_credentials);
    RUN(uri_with_an_ambiguous_password_shows_only_its_scheme);
    RUN(pairs_keep_where_and_drop_the_rest);
    UNIT_DONE();
}
