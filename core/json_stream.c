/*
 * json_stream.c - the incremental reader of json_stream.h.
 *
 * A state machine over RFC 8259 that takes one byte at a time, so a chunk
 * may end anywhere (inside a string, an escape, a \uXXXX, a multi-byte
 * character, a number or a literal) and the next goes on from there. Every
 * significant byte is copied either to the element being read or to the
 * skeleton; whitespace outside strings and the commas between the array's
 * elements are dropped, so the array reads `[]` in the skeleton. Runs of
 * plain string bytes, most of an answer, are copied in one go.
 */
#include "json_stream.h"

#include "util.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum lex {
    LEX_VALUE,          /* a value: at the start, after ':', after ',' in an array */
    LEX_VALUE_OR_CLOSE, /* just after '[' */
    LEX_NAME,           /* a member name, after ',' in an object */
    LEX_NAME_OR_CLOSE,  /* just after '{' */
    LEX_COLON,
    LEX_AFTER,          /* a value ended: ',' or the close; at the root, only whitespace */
    LEX_STRING,
    LEX_ESCAPE,         /* after a backslash */
    LEX_UNICODE,        /* in \uXXXX: `hex` digits read */
    LEX_UTF8,           /* in a multi-byte character: `utf8_len` bytes read */
    LEX_NUMBER,
    LEX_LITERAL
};

/* Where in a number the last byte was; ZERO, INT, FRAC and EXP may end it. */
enum number_at { NUM_MINUS, NUM_ZERO, NUM_INT, NUM_DOT, NUM_FRAC, NUM_E, NUM_E_SIGN, NUM_EXP };

struct frame {
    bool object;
    bool on_path;          /* an object on the path: its member members[depth] leads on */
    bool path_member_seen; /* that member was read once already */
    bool target;           /* the array whose elements are handed out */
};

struct json_stream {
    char *path;      /* as given, for messages */
    char *member_text; /* the path's members, NUL-separated */
    const char *members[JSON_STREAM_MAX_PATH_PARTS];
    size_t n_members;
    size_t max_item, max_skeleton;
    json_stream_item_fn on_item;
    void *arg;

    enum lex lex;
    struct frame frames[JSON_STREAM_MAX_DEPTH];
    size_t depth;               /* containers open */
    bool root_done;             /* the root value ended */
    bool reading_name;          /* the string being read is a member name */
    enum number_at number;
    const char *literal;        /* "true", "false" or "null", matched up to literal_at */
    size_t literal_at;
    unsigned hex;
    unsigned char utf8[4];
    size_t utf8_len;

    /*
     * A member name of an object on the path, kept raw to compare with the
     * path's member: up to a \u0000, where json-c cuts names, so at most six
     * bytes (\u00XX) for each byte of the member and the \u0000 itself.
     */
    bool collect_name;
    char name[6 * JSON_STREAM_MAX_MEMBER + 6];
    size_t name_len;
    bool name_overflow, name_escaped, name_cut;
    bool unicode_zero;          /* the \uXXXX being read is \u0000 so far */
    bool next_on_path;          /* the value about to start is the path's next step */

    bool in_item;               /* bytes go to the element, not to the skeleton */
    size_t item_depth;          /* depth at which the target array's elements end */
    struct buf item, skeleton;
    json_tokener *tok;
    size_t items;
    size_t offset;              /* of the byte being read */
    enum json_stream_status status;
    bool finished;
    char error[192];
};

static bool fail(struct json_stream *js, enum json_stream_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(struct json_stream *js, enum json_stream_status status, const char *fmt, ...)
{
    if (js->status != JSON_STREAM_OK)
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(js->error, sizeof js->error, fmt, ap);
    va_end(ap);
    size_t used = strlen(js->error);
    snprintf(js->error + used, sizeof js->error - used, " at byte %zu", js->offset);
    js->status = status;
    return false;
}

/* ---- the path ---- */

bool json_stream_path_valid(const char *array_path)
{
    size_t members = 0;
    if (!array_path)
        return false;
    for (const char *member = array_path;; member++) {
        size_t len = strcspn(member, ".");
        if (len == 0 || len > JSON_STREAM_MAX_MEMBER || ++members > JSON_STREAM_MAX_PATH_PARTS)
            return false;
        member += len;
        if (!*member)
            return true;
    }
}

static bool split_path(struct json_stream *js, const char *path)
{
    if (!json_stream_path_valid(path))
        return false;
    js->path = xstrdup(path);
    js->member_text = xstrdup(path);
    for (char *member = js->member_text; member; member = strchr(member, '.')) {
        if (*member == '.')
            *member++ = '\0';
        js->members[js->n_members++] = member;
    }
    return true;
}

/*
 * Whether the member name just read is @p member as json-c will read it:
 * escapes decoded, and cut at a \u0000 (json-c keeps names as C strings).
 */
static bool name_is(struct json_stream *js, const char *member)
{
    size_t len = strlen(member);
    if (js->name_overflow)
        return false;
    if (!js->name_escaped)
        return js->name_len == len && memcmp(js->name, member, len) == 0;
    char quoted[sizeof js->name + 3];
    quoted[0] = '"';
    memcpy(quoted + 1, js->name, js->name_len);
    quoted[js->name_len + 1] = '"';
    json_tokener_reset(js->tok);
    json_object *decoded = json_tokener_parse_ex(js->tok, quoted, (int)js->name_len + 2);
    bool same = json_object_is_type(decoded, json_type_string)
                && strcmp(json_object_get_string(decoded), member) == 0;
    json_object_put(decoded);
    return same;
}

static void collect_name(struct json_stream *js, const void *bytes, size_t n)
{
    if (!js->collect_name || js->name_cut)
        return;
    if (js->name_len + n > sizeof js->name) {
        js->name_overflow = true;
        return;
    }
    memcpy(js->name + js->name_len, bytes, n);
    js->name_len += n;
}

/* ---- output: the element being read, or the skeleton ---- */

static bool put(struct json_stream *js, const void *bytes, size_t n)
{
    struct buf *b = js->in_item ? &js->item : &js->skeleton;
    size_t max = js->in_item ? js->max_item : js->max_skeleton;
    if (b->len + n > max) {
        js->offset += max - b->len; /* the first byte that does not fit, however the run was cut */
        if (js->in_item)
            return fail(js, JSON_STREAM_TOO_LARGE, "an element of %s is over %zu bytes", js->path,
                        max);
        if (js->path)
            return fail(js, JSON_STREAM_TOO_LARGE, "the document beside %s is over %zu bytes",
                        js->path, max);
        return fail(js, JSON_STREAM_TOO_LARGE, "the document is over %zu bytes", max);
    }
    buf_append(b, bytes, n);
    return true;
}

static bool put_byte(struct json_stream *js, unsigned char c)
{
    return put(js, &c, 1);
}

/* The element is complete: parse it alone and hand it out. */
static bool hand_out(struct json_stream *js)
{
    json_tokener_reset(js->tok);
    json_object *item = json_tokener_parse_ex(js->tok, js->item.data, (int)js->item.len);
    enum json_tokener_error err = json_tokener_get_error(js->tok);
    if (!item && err == json_tokener_continue) { /* a number ends with its input */
        item = json_tokener_parse_ex(js->tok, "", 1);
        err = json_tokener_get_error(js->tok);
    }
    js->in_item = false;
    js->item.len = 0;
    if (err != json_tokener_success) {
        json_object_put(item);
        return fail(js, JSON_STREAM_INVALID, "an element of %s: %s", js->path,
                    json_tokener_error_desc(err));
    }
    size_t index = js->items++;
    int stop = js->on_item(js->arg, item, index);
    json_object_put(item);
    if (stop)
        return fail(js, JSON_STREAM_STOPPED, "stopped by its reader after element %zu", index);
    return true;
}

/* ---- structure ---- */

static bool value_end(struct json_stream *js)
{
    js->lex = LEX_AFTER;
    if (js->depth == 0) {
        js->root_done = true;
        return true;
    }
    if (js->in_item && js->depth == js->item_depth)
        return hand_out(js);
    return true;
}

static bool open_container(struct json_stream *js, bool object, bool on_path)
{
    if (js->depth == JSON_STREAM_MAX_DEPTH)
        return fail(js, JSON_STREAM_INVALID, "nested too deeply");
    struct frame *f = &js->frames[js->depth];
    *f = (struct frame){.object = object};
    if (on_path && object && js->depth < js->n_members)
        f->on_path = true;
    else if (on_path && !object && js->depth == js->n_members)
        f->target = true;
    js->depth++;
    if (f->target)
        js->item_depth = js->depth;
    js->lex = object ? LEX_NAME_OR_CLOSE : LEX_VALUE_OR_CLOSE;
    return true;
}

static bool close_container(struct json_stream *js, unsigned char c)
{
    if (!put_byte(js, c))
        return false;
    js->depth--;
    return value_end(js);
}

static bool start_literal(struct json_stream *js, const char *word)
{
    js->lex = LEX_LITERAL;
    js->literal = word;
    js->literal_at = 1;
    return true;
}

static bool value_start(struct json_stream *js, unsigned char c)
{
    bool on_path = js->next_on_path;
    js->next_on_path = false;
    if (js->depth && js->frames[js->depth - 1].target && !js->in_item) {
        js->in_item = true; /* an element of the array begins */
        js->item.len = 0;
    }
    if (!put_byte(js, c))
        return false;
    switch (c) {
    case '{':
    case '[':
        return open_container(js, c == '{', on_path);
    case '"':
        js->lex = LEX_STRING;
        js->reading_name = false;
        js->collect_name = false;
        return true;
    case 't': return start_literal(js, "true");
    case 'f': return start_literal(js, "false");
    case 'n': return start_literal(js, "null");
    case '-': js->number = NUM_MINUS; break;
    case '0': js->number = NUM_ZERO; break;
    default:
        if (c < '1' || c > '9')
            return fail(js, JSON_STREAM_INVALID, "unexpected character");
        js->number = NUM_INT;
    }
    js->lex = LEX_NUMBER;
    return true;
}

static bool name_start(struct json_stream *js)
{
    const struct frame *top = &js->frames[js->depth - 1];
    js->lex = LEX_STRING;
    js->reading_name = true;
    js->collect_name = top->on_path;
    js->name_len = 0;
    js->name_overflow = js->name_escaped = js->name_cut = false;
    return put_byte(js, '"');
}

static bool name_end(struct json_stream *js)
{
    js->lex = LEX_COLON;
    struct frame *top = &js->frames[js->depth - 1];
    if (!js->collect_name || !name_is(js, js->members[js->depth - 1]))
        return true;
    if (top->path_member_seen)
        return fail(js, JSON_STREAM_DUPLICATE, "member \"%s\" of %s appears twice",
                    js->members[js->depth - 1], js->path);
    top->path_member_seen = true;
    js->next_on_path = true;
    return true;
}

static bool string_end(struct json_stream *js)
{
    if (!put_byte(js, '"'))
        return false;
    return js->reading_name ? name_end(js) : value_end(js);
}

/* ---- bytes ---- */

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex_digit(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string byte with no meaning of its own: copied in runs. */
static bool is_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* The next byte of a string (after a run of plain ones). */
static bool string_byte(struct json_stream *js, unsigned char c)
{
    bool cut = false;
    switch (js->lex) {
    case LEX_STRING:
        if (c == '"')
            return string_end(js);
        if (c < 0x20)
            return fail(js, JSON_STREAM_INVALID, "a control byte in a string must be escaped");
        if (c == '\\') {
            js->lex = LEX_ESCAPE;
            js->name_escaped = true;
        } else if (c >= 0x80) {
            js->lex = LEX_UTF8;
            js->utf8[0] = c;
            js->utf8_len = 1;
        }
        break;
    case LEX_ESCAPE:
        if (c == 'u') {
            js->lex = LEX_UNICODE;
            js->hex = 0;
            js->unicode_zero = true;
        } else if (c && strchr("\"\\/bfnrt", c)) {
            js->lex = LEX_STRING;
        } else {
            return fail(js, JSON_STREAM_INVALID, "unknown escape in a string");
        }
        break;
    case LEX_UNICODE:
        if (!is_hex_digit(c))
            return fail(js, JSON_STREAM_INVALID, "malformed \\u escape");
        js->unicode_zero = js->unicode_zero && c == '0';
        if (++js->hex == 4) {
            js->lex = LEX_STRING;
            cut = js->unicode_zero; /* json-c's name ends here */
        }
        break;
    default: /* LEX_UTF8: whole characters are checked as json_input.c checks them */
        js->utf8[js->utf8_len++] = c;
        if (utf8_char_length(js->utf8, js->utf8_len) == js->utf8_len)
            js->lex = LEX_STRING;
        else if (js->utf8_len == sizeof js->utf8)
            return fail(js, JSON_STREAM_INVALID, "a string is not valid UTF-8");
        break;
    }
    collect_name(js, &c, 1);
    js->name_cut = js->name_cut || cut;
    return put_byte(js, c);
}

static bool number_can_end(enum number_at at)
{
    return at == NUM_ZERO || at == NUM_INT || at == NUM_FRAC || at == NUM_EXP;
}

/* 1: @p c continues the number; 0: the number ended before it; -1: malformed. */
static int number_byte(struct json_stream *js, unsigned char c)
{
    enum number_at at = js->number, next;
    bool digit = is_digit(c);
    switch (at) {
    case NUM_MINUS: next = c == '0' ? NUM_ZERO : digit ? NUM_INT : NUM_MINUS; break;
    case NUM_ZERO:
        if (digit) {
            fail(js, JSON_STREAM_INVALID, "a number has a leading zero");
            return -1;
        }
        /* fall through */
    case NUM_INT:
        next = digit ? NUM_INT : c == '.' ? NUM_DOT : c == 'e' || c == 'E' ? NUM_E : at;
        break;
    case NUM_DOT: next = digit ? NUM_FRAC : at; break;
    case NUM_FRAC: next = digit ? NUM_FRAC : c == 'e' || c == 'E' ? NUM_E : at; break;
    case NUM_E: next = digit ? NUM_EXP : c == '+' || c == '-' ? NUM_E_SIGN : at; break;
    case NUM_E_SIGN: next = digit ? NUM_EXP : at; break;
    default: next = digit ? NUM_EXP : at; break;
    }
    bool moved = next != at || digit;
    if (moved) {
        js->number = next;
        return put_byte(js, c) ? 1 : -1;
    }
    if (!number_can_end(at)) {
        fail(js, JSON_STREAM_INVALID, "malformed number");
        return -1;
    }
    return 0;
}

static bool structure_byte(struct json_stream *js, unsigned char c)
{
    if (is_space(c))
        return true;
    struct frame *top = js->depth ? &js->frames[js->depth - 1] : NULL;
    switch (js->lex) {
    case LEX_VALUE_OR_CLOSE:
        if (c == ']')
            return close_container(js, c);
        /* fall through */
    case LEX_VALUE:
        return value_start(js, c);
    case LEX_NAME_OR_CLOSE:
        if (c == '}')
            return close_container(js, c);
        /* fall through */
    case LEX_NAME:
        if (c != '"')
            return fail(js, JSON_STREAM_INVALID, "an object member name must be a string");
        return name_start(js);
    case LEX_COLON:
        if (c != ':')
            return fail(js, JSON_STREAM_INVALID, "':' expected after a member name");
        js->lex = LEX_VALUE;
        return put_byte(js, c);
    default: /* LEX_AFTER */
        if (!top)
            return fail(js, JSON_STREAM_INVALID, "unexpected data after the JSON value");
        if (c == (top->object ? '}' : ']'))
            return close_container(js, c);
        if (c != ',')
            return fail(js, JSON_STREAM_INVALID,
                        top->object ? "',' or '}' expected" : "',' or ']' expected");
        js->lex = top->object ? LEX_NAME : LEX_VALUE;
        return top->target || put_byte(js, c); /* the array's commas go with its elements */
    }
}

static bool step(struct json_stream *js, unsigned char c)
{
    switch (js->lex) {
    case LEX_STRING:
    case LEX_ESCAPE:
    case LEX_UNICODE:
    case LEX_UTF8:
        return string_byte(js, c);
    case LEX_LITERAL:
        if (c != (unsigned char)js->literal[js->literal_at])
            return fail(js, JSON_STREAM_INVALID, "unexpected character");
        if (!put_byte(js, c))
            return false;
        return js->literal[++js->literal_at] != '\0' || value_end(js);
    case LEX_NUMBER: {
        int more = number_byte(js, c);
        if (more != 0)
            return more > 0;
        if (!value_end(js)) /* the byte after a number is read in the state after it */
            return false;
        return structure_byte(js, c);
    }
    default:
        return structure_byte(js, c);
    }
}

/* ---- public ---- */

struct json_stream *json_stream_new(const char *array_path, size_t max_item, size_t max_skeleton,
                                    json_stream_item_fn on_item, void *arg)
{
    struct json_stream *js = xcalloc(1, sizeof *js);
    if (array_path && !split_path(js, array_path)) {
        json_stream_free(js);
        return NULL;
    }
    /* json-c takes lengths as int */
    js->max_item = max_item < INT32_MAX ? max_item : INT32_MAX - 1;
    js->max_skeleton = max_skeleton < INT32_MAX ? max_skeleton : INT32_MAX - 1;
    js->on_item = on_item;
    js->arg = arg;
    js->lex = LEX_VALUE;
    js->next_on_path = js->n_members > 0; /* the root is where the path starts */
    buf_init(&js->item);
    buf_init(&js->skeleton);
    js->tok = json_tokener_new_ex(JSON_STREAM_MAX_DEPTH + 1);
    if (!js->tok)
        abort(); /* only allocation fails here (util.h: allocation failure aborts) */
    return js;
}

enum json_stream_status json_stream_feed(struct json_stream *js, const void *data, size_t len)
{
    const unsigned char *p = data, *end = p + len;
    if (js->finished)
        fail(js, JSON_STREAM_INVALID, "input after the end");
    while (p < end && js->status == JSON_STREAM_OK) {
        if (js->lex == LEX_STRING && is_plain(*p)) {
            const unsigned char *run = p;
            while (p < end && is_plain(*p))
                p++;
            collect_name(js, run, (size_t)(p - run));
            put(js, run, (size_t)(p - run));
            js->offset += (size_t)(p - run);
            continue;
        }
        if (step(js, *p)) {
            p++;
            js->offset++;
        }
    }
    return js->status;
}

enum json_stream_status json_stream_finish(struct json_stream *js, json_object **skeleton)
{
    *skeleton = NULL;
    if (js->finished && js->status == JSON_STREAM_OK)
        fail(js, JSON_STREAM_INVALID, "finished twice");
    js->finished = true;
    if (js->status != JSON_STREAM_OK)
        return js->status;
    if (js->lex == LEX_NUMBER && js->depth == 0 && number_can_end(js->number))
        value_end(js); /* a number at the root ends with the input */
    if (!js->root_done) {
        fail(js, JSON_STREAM_INVALID, "unexpected end of input");
        return js->status;
    }
    json_tokener_reset(js->tok);
    json_object *doc = json_tokener_parse_ex(js->tok, js->skeleton.data, (int)js->skeleton.len);
    enum json_tokener_error err = json_tokener_get_error(js->tok);
    if (!doc && err == json_tokener_continue) {
        doc = json_tokener_parse_ex(js->tok, "", 1);
        err = json_tokener_get_error(js->tok);
    }
    buf_free(&js->skeleton); /* the parsed skeleton is all that is needed now */
    if (err != json_tokener_success || !doc) {
        json_object_put(doc);
        fail(js, JSON_STREAM_INVALID, "%s",
             err == json_tokener_success ? "the value is null" : json_tokener_error_desc(err));
        return js->status;
    }
    *skeleton = doc;
    return JSON_STREAM_OK;
}

const char *json_stream_error(const struct json_stream *js)
{
    return js->error;
}

size_t json_stream_items(const struct json_stream *js)
{
    return js->items;
}

void json_stream_free(struct json_stream *js)
{
    if (!js)
        return;
    free(js->path);
    free(js->member_text);
    buf_free(&js->item);
    buf_free(&js->skeleton);
    if (js->tok)
        json_tokener_free(js->tok);
    free(js);
}
