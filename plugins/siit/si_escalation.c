/* si_escalation.c - escalations (not built yet in this step). */
#include "si_escalation.h"

#include "plugin_kit.h"

sb_status si_escalation_start(si_state *st, sb_installation_id inst, const char *request_id,
                              json_object *spec, const char *origin, const char *run_id,
                              char *id_out, size_t id_size, sb_result *result)
{
    (void)st;
    (void)inst;
    (void)request_id;
    (void)spec;
    (void)origin;
    (void)run_id;
    (void)id_out;
    (void)id_size;
    return pk_refuse(result, 501, "not_implemented", "escalations are not built yet");
}

sb_status si_escalation_on_job(si_state *st, const sb_job *job, sb_result *result)
{
    (void)st;
    return sb_result_set(result, SB_FAIL, "escalations are not built yet (job %llu)",
                         (unsigned long long)job->id);
}
