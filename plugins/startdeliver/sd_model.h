/*
 * sd_model.h - the product's users and customers as the plugin keeps them:
 * validation of what the product API receives, and the matching of an
 * Intercom contact to a user (external id first, then email).
 *
 * A user document:     {"id","email","name","customer_id","usage_health",
 *                       "health_score","last_login","custom_fields",
 *                       "origin","intercom_contact_id","updated_at"}
 * A customer document: {"id","name","usage_health","health_score",
 *                       "last_login","custom_fields","origin",
 *                       "intercom_company_id","updated_at"}
 * "origin" is "product" for records the product pushed and "intercom" for
 * records created from unmatched Intercom contacts and companies.
 */
#ifndef SD_MODEL_H
#define SD_MODEL_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/** Longest id, and the characters ids may use (they are parts of document keys). */
#define SD_ID_MAX 128
bool sd_id_valid(const char *id);

/** Lower-cased, trimmed address, or NULL if it does not look like one. Caller frees. */
char *sd_email_normalize(const char *email);

enum sd_record_kind { SD_RECORD_USER, SD_RECORD_CUSTOMER };

/**
 * Validate one record sent by the product and return its canonical form (a
 * new object with only the fields the product owns), or NULL with a message
 * in @p err. @p path_id is the id from the URL, if any: the body may omit
 * its id or repeat the same one.
 */
json_object *sd_record_from_input(enum sd_record_kind kind, json_object *input,
                                  const char *path_id, char *err, size_t errlen);

/** How a contact was matched. */
enum sd_match { SD_MATCH_NONE = 0, SD_MATCH_EXTERNAL_ID = 1, SD_MATCH_EMAIL = 2 };
const char *sd_match_name(enum sd_match match);

/** Where the matcher looks users up; each returns a new string (the user id) or NULL. */
struct sd_user_lookup {
    char *(*by_id)(void *arg, const char *user_id);
    char *(*by_email)(void *arg, const char *normalized_email);
    void *arg;
};

/**
 * Match a contact to a user: the contact's external id names a user id, or
 * else its email is a user's email. Sets *user_id (caller frees) unless
 * the result is SD_MATCH_NONE.
 */
enum sd_match sd_match_contact(const struct sd_user_lookup *lookup, const char *external_id,
                               const char *email, char **user_id);

/** Id of a user created for an unmatched contact: its external id if usable, else "intercom-<contact id>". */
char *sd_created_user_id(const char *external_id, const char *contact_id);
/** Id of a customer created for an unmatched company: its company_id if usable, else "intercom-company-<id>". */
char *sd_created_customer_id(const char *company_id, const char *intercom_company_id);

#endif
