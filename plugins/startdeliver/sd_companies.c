/*
 * sd_companies.c - the companies phase: read every Intercom company with the
 * scroll API and map it to the customer whose id is its company_id (or
 * create that customer when create_users is on).
 *
 * GET /companies stops paging at 10,000 companies, so this uses
 * /companies/scroll: the first request opens a scroll, each answer carries
 * the scroll_param of the next page, and an empty page ends it. Intercom
 * allows one open scroll per app and expires an idle one after a minute, so
 * a scroll cannot outlive a crash: this phase never resumes mid-scroll, it
 * starts over (company records are idempotent). A page that fails restarts
 * the scroll at most MAX_RESTARTS times; a scroll that cannot be opened (one
 * is still open, e.g. left by a crashed run) is not retried in a loop: the
 * run goes on with the company map it has and ends "partial".
 */
#include "sd_phases.h"

#include "sd_util.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_RESTARTS 2

struct scroll {
    char *param;              /* NULL: the next request opens a scroll */
    int restarts;
    struct sd_counts base;    /* counts when the phase started, to recount after a restart */
    json_object *page;        /* the page being committed */
};

static void scroll_free(void *arg)
{
    struct scroll *s = arg;
    free(s->param);
    free(s);
}

static void page_read(void *arg, const sb_intercom_response *res);

static void request_page(struct sd_run *run)
{
    struct scroll *s = run->phase_state;
    char *path;
    if (s->param) {
        char *param = pk_xchecked(sb_url_escape(s->param));
        path = pk_xasprintf("/companies/scroll?scroll_param=%s", param);
        free(param);
    } else {
        path = pk_xstrdup("/companies/scroll");
    }
    sb_intercom_request req = {.method = "GET", .path = path};
    sd_run_op_begin(run);
    run->sd->host->intercom_request(run->sd->self, run->inst, &req, page_read, run);
    free(path);
}

static int page_tx(void *arg)
{
    struct sd_run *run = arg;
    struct scroll *s = run->phase_state;
    json_object *data = sb_json_arr(s->page, "data");
    for (size_t i = 0; i < json_object_array_length(data); i++) {
        switch (sd_company_store(&run->env, json_object_array_get_idx(data, i))) {
        case SD_COMPANY_CREATED_CUSTOMER:
            run->counts.customers_created++;
            /* fall through */
        case SD_COMPANY_MATCHED:
        case SD_COMPANY_UNMATCHED:
            run->counts.companies++;
            break;
        case SD_COMPANY_INVALID:
            return -1;
        }
    }
    return 0;
}

static void restart_or_give_up(struct sd_run *run, const sb_intercom_response *res)
{
    struct scroll *s = run->phase_state;
    const char *code = res->error_code ? res->error_code : "error";
    if (!s->param) {
        sd_run_warn(run, "companies were not refreshed: the scroll could not be opened (%d %s)",
                    res->status, code);
        sd_run_phase_done(run);
        return;
    }
    if (s->restarts >= MAX_RESTARTS) {
        sd_run_warn(run, "companies were not refreshed: the scroll failed %d times (last: %d %s)",
                    s->restarts + 1, res->status, code);
        sd_run_phase_done(run);
        return;
    }
    s->restarts++;
    run->sd->host->log(run->sd->self, SB_LOG_INFO,
                       "installation %lld: company scroll failed (%d %s); starting it again",
                       (long long)run->inst, res->status, code);
    free(s->param);
    s->param = NULL;
    /* Every company is read again: count them again from the phase's start. */
    run->counts.companies = s->base.companies;
    run->counts.customers_created = s->base.customers_created;
    request_page(run);
}

static void page_read(void *arg, const sb_intercom_response *res)
{
    struct sd_run *run = arg;
    if (sd_run_op_end(run, res))
        return;
    struct scroll *s = run->phase_state;
    if (res->error_code) {
        if (sd_installation_lost(res))
            sd_run_fail_response(run, res, "scrolling companies");
        else
            restart_or_give_up(run, res);
        return;
    }
    json_object *data = sb_json_arr(res->body, "data");
    if (!data || json_object_array_length(data) == 0) {
        sd_run_phase_done(run); /* the end of the scroll */
        return;
    }
    const char *next = sb_json_str(res->body, "scroll_param");
    s->page = res->body;
    struct sd_counts before = run->counts;
    int rc = sd_run_transaction(run, page_tx, run);
    s->page = NULL;
    if (rc != 0) {
        run->counts = before;
        sd_run_fail(run, SB_RETRY, "cannot store a page of companies");
        return;
    }
    if (!next) {
        sd_run_warn(run, "the company scroll answered without a scroll_param; stopped early");
        sd_run_phase_done(run);
        return;
    }
    char *param = pk_xstrdup(next);
    free(s->param);
    s->param = param;
    request_page(run);
}

void sd_companies_start(struct sd_run *run)
{
    struct scroll *s = pk_xcalloc(1, sizeof *s);
    s->base = run->counts;
    run->phase_state = s;
    run->phase_state_free = scroll_free;
    request_page(run);
}
