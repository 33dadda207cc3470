/*  tsr_fwresult - find and mark the test a dead runner was in             */
#include "tsr_fwresult.h"
#include <string.h>

//  Bytes of the shard log's end quoted in a TIMED_OUT/CRASHED message.
#define S_QUOTED_TAIL_BYTES 1536

//  The ids covered through groups: group(result id) for every result.
static zhashx_t *
s_covered_groups(const tsr_framework_t *framework, tsr_results_t *results)
{
    zhashx_t *groups = zhashx_new(); //  group -> non-NULL marker
    if (!framework || !framework->group)
        return groups;
    size_t count = tsr_results_size(results);
    for (size_t index = 0; index < count; index++) {
        char *group = framework->group(tsr_results_at(results, index)->id);
        if (group)
            zhashx_update(groups, group, (void *)1);
        free(group);
    }
    return groups;
}

const char *
tsr_fwresult_unfinished(const tsr_framework_t *framework, zlistx_t *test_ids,
                        tsr_results_t *results)
{
    assert(test_ids && results);
    zhashx_t *groups = s_covered_groups(framework, results);
    const char *found = NULL;
    for (const char *id = (const char *)zlistx_first(test_ids); id && !found;
         id = (const char *)zlistx_next(test_ids))
        if (!tsr_results_find(results, id) && !zhashx_lookup(groups, id))
            found = id;
    zhashx_destroy(&groups);
    return found;
}

bool
tsr_fwresult_interrupted(const tsr_fwresult_end_t *end, bool unfinished)
{
    assert(end);
    if (end->timed_out || end->term_signal != 0 || end->exit_code == -1)
        return true;
    return unfinished && end->exit_code != 0;
}

static bool
s_has_marked(tsr_results_t *results)
{
    size_t count = tsr_results_size(results);
    for (size_t index = 0; index < count; index++) {
        Tessera__Outcome outcome = tsr_results_at(results, index)->outcome;
        if (outcome == TESSERA__OUTCOME__TIMED_OUT || outcome == TESSERA__OUTCOME__CRASHED)
            return true;
    }
    return false;
}

//  The last S_QUOTED_TAIL_BYTES of `tail`, starting at a line when one
//  starts near there and at a UTF-8 lead byte. Borrowed from `tail`.
static const char *
s_quoted_tail(const char *tail)
{
    size_t length = strlen(tail);
    if (length <= S_QUOTED_TAIL_BYTES)
        return tail;
    const char *start = tail + length - S_QUOTED_TAIL_BYTES;
    const char *newline = strchr(start, '\n');
    if (newline && newline[1])
        return newline + 1;
    while (*start && ((unsigned char)*start & 0xC0) == 0x80)
        start++;
    return start;
}

//  Does the adapter list groups (files) rather than tests? Then a listed
//  id is its own group.
static bool
s_lists_groups(const tsr_framework_t *framework, const char *id)
{
    if (!framework || !framework->group)
        return false;
    char *group = framework->group(id);
    bool same = group && streq(group, id);
    free(group);
    return same;
}

//  The listed id (borrowed from `test_ids`) that is the group of the last
//  result, in report order, with such a group; NULL if none.
static const char *
s_last_group(const tsr_framework_t *framework, zlistx_t *test_ids, tsr_results_t *results)
{
    const char *found = NULL;
    for (size_t index = tsr_results_size(results); index > 0 && !found; index--) {
        char *group = framework->group(tsr_results_at(results, index - 1)->id);
        for (const char *id = (const char *)zlistx_first(test_ids); id && group && !found;
             id = (const char *)zlistx_next(test_ids))
            if (streq(id, group))
                found = id;
        free(group);
    }
    return found;
}

const char *
tsr_fwresult_mark(const tsr_framework_t *framework, zlistx_t *test_ids, tsr_results_t *results,
                  const tsr_fwresult_end_t *end)
{
    assert(test_ids && results && end);
    const char *unfinished = tsr_fwresult_unfinished(framework, test_ids, results);
    if (!tsr_fwresult_interrupted(end, unfinished != NULL) || s_has_marked(results))
        return NULL;
    const char *id = unfinished;
    const char *first = (const char *)zlistx_first(test_ids);
    if (first && s_lists_groups(framework, first)) {
        //  Files, not tests (npm): the runner died in the file it reported
        //  from last (every file may have results by then); only when it
        //  reported nothing was it in the first uncovered file. That file
        //  gets the result under its own id.
        const char *running = s_last_group(framework, test_ids, results);
        if (running)
            id = running;
        if (id && tsr_results_find(results, id))
            return NULL; //  the adapter said what became of that file
    }
    if (!id)
        return NULL;
    char why[160];
    Tessera__Outcome outcome = TESSERA__OUTCOME__CRASHED;
    uint64_t duration_ms = 0;
    if (end->timed_out) {
        outcome = TESSERA__OUTCOME__TIMED_OUT;
        duration_ms = end->silence_ms;
        snprintf(why, sizeof why,
                 "timed out: no output for %.1f s (the per-test limit); the runner was killed",
                 (double)end->silence_ms / 1000.0);
    } else if (end->term_signal != 0)
        snprintf(why, sizeof why, "crashed: the runner was killed by signal %d (%s)",
                 end->term_signal, strsignal(end->term_signal));
    else if (end->exit_code == -1)
        snprintf(why, sizeof why, "crashed: the runner was killed by a signal");
    else
        snprintf(why, sizeof why, "crashed: the runner exited with code %d before reporting it",
                 end->exit_code);
    const char *tail =
        end->output_tail && *end->output_tail ? s_quoted_tail(end->output_tail) : NULL;
    char *message = tail ? zsys_sprintf("%s\n--- output ---\n%s", why, tail) : strdup(why);
    tsr_results_add(results, id, outcome, duration_ms, message);
    free(message);
    return id;
}
