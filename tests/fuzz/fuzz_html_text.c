/*
 * fuzz_html_text - the bundled plugins' HTML-to-text conversion
 * (pk_html_to_text), which reads message bodies from Intercom and its users.
 * Checks that it never reads past its input, always returns text, keeps no
 * control character but the newline, and stays within three bytes of output
 * per input byte (a byte may become U+FFFD; an entity never grows).
 */
#include "plugin_kit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *html = malloc(size + 1);
    if (!html)
        abort();
    memcpy(html, data, size);
    html[size] = '\0';
    size_t len = strlen(html); /* the converter reads a C string: up to the first NUL */
    char *text = pk_html_to_text(html);
    if (!text)
        abort();
    size_t out = strlen(text);
    if (out > 3 * len + 1)
        abort();
    for (size_t i = 0; i < out; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\n') || c == 0x7f)
            abort();
    }
    free(text);
    free(html);
    return 0;
}
