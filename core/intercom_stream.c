/*
 * intercom_stream.c - a streamed Intercom answer, read as it arrives (see
 * intercom_stream.h). The reader of an attempt is made at its first byte,
 * so a request that waits in its governor's queue holds no more than its
 * path and callback.
 */
#include "intercom_stream.h"

#include "intercom_shapes.h"
#include "json_stream.h"
#include "plugins.h"
#include "util.h"

#include <stdlib.h>

struct ic_stream {
    struct sb_plugin *plugin;
    char *array_path;
    sb_item_cb on_item;
    void *arg;
    struct json_stream *reader; /* this attempt's, from its first byte */
    struct buf taken;           /* received, not read yet */
    enum ic_stream_state state;
    size_t items;
    bool cancelled;
};

struct ic_stream *ic_stream_new(struct sb_plugin *p, const char *array_path, sb_item_cb on_item,
                                void *arg)
{
    struct ic_stream *s = xcalloc(1, sizeof *s);
    s->plugin = p;
    s->array_path = xstrdup(array_path);
    s->on_item = on_item;
    s->arg = arg;
    buf_init(&s->taken);
    return s;
}

void ic_stream_free(struct ic_stream *s)
{
    if (!s)
        return;
    json_stream_free(s->reader);
    buf_free(&s->taken);
    free(s->array_path);
    free(s);
}

void ic_stream_restart(struct ic_stream *s)
{
    json_stream_free(s->reader);
    s->reader = NULL;
    s->taken.len = 0;
    s->state = IC_STREAM_READING;
    s->items = 0;
}

void ic_stream_take(struct ic_stream *s, const char *data, size_t len)
{
    buf_append(&s->taken, data, len);
}

static int hand_out(void *arg, json_object *item, size_t index)
{
    struct ic_stream *s = arg;
    if (s->cancelled)
        return 1;
    s->items++;
    s->plugin->callbacks++;
    return s->on_item(s->arg, item, index) != SB_OK;
}

static enum ic_stream_state state_of(const struct ic_stream *s, enum json_stream_status status)
{
    if (status == JSON_STREAM_OK)
        return IC_STREAM_READING;
    if (status == JSON_STREAM_STOPPED)
        return s->cancelled ? IC_STREAM_CANCELLED : IC_STREAM_STOPPED;
    return IC_STREAM_INVALID;
}

enum ic_stream_state ic_stream_read(struct ic_stream *s)
{
    if (s->state != IC_STREAM_READING || s->taken.len == 0)
        return s->state;
    if (!s->reader)
        s->reader = json_stream_new(s->array_path, INTERCOM_STREAM_MAX_BYTES,
                                    INTERCOM_STREAM_MAX_BYTES, hand_out, s);
    s->state = state_of(s, json_stream_feed(s->reader, s->taken.data, s->taken.len));
    s->taken.len = 0;
    return s->state;
}

enum ic_stream_state ic_stream_end(struct ic_stream *s, json_object **rest)
{
    *rest = NULL;
    if (ic_stream_read(s) != IC_STREAM_READING || !s->reader)
        return s->state; /* failed, or no body at all */
    s->state = state_of(s, json_stream_finish(s->reader, rest));
    return s->state;
}

void ic_stream_stop(struct ic_stream *s)
{
    s->cancelled = true;
}

size_t ic_stream_items(const struct ic_stream *s)
{
    return s->items;
}

const char *ic_stream_error(const struct ic_stream *s)
{
    return s->reader ? json_stream_error(s->reader) : "";
}
