/*  tsr_list - a correct sort for zlistx (see tsr_list.h for why)            */
#include "tsr_list.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    void *handle;    //  the item's zlistx handle
    void *item;      //  borrowed (owner: the list)
    size_t position; //  original index, for stability
    tsr_list_compare_fn *compare;
} s_slot_t;

static int
s_compare_slots(const void *left, const void *right)
{
    const s_slot_t *left_slot = (const s_slot_t *)left;
    const s_slot_t *right_slot = (const s_slot_t *)right;
    int order = left_slot->compare(left_slot->item, right_slot->item);
    if (order != 0)
        return order;
    return left_slot->position < right_slot->position ? -1 : 1;
}

void
tsr_list_sort(zlistx_t *list, tsr_list_compare_fn *compare)
{
    assert(list);
    assert(compare);
    size_t count = zlistx_size(list);
    if (count < 2)
        return;
    s_slot_t *slots = (s_slot_t *)zmalloc(count * sizeof(s_slot_t));
    size_t index = 0;
    for (void *item = zlistx_first(list); item; item = zlistx_next(list), index++) {
        slots[index].handle = zlistx_cursor(list);
        slots[index].item = item;
        slots[index].position = index;
        slots[index].compare = compare;
    }
    qsort(slots, count, sizeof(s_slot_t), s_compare_slots);
    //  Moving handles neither duplicates nor destroys items
    for (index = 0; index < count; index++)
        zlistx_move_end(list, slots[index].handle);
    free(slots);
}

static int
s_compare_strings(const void *left, const void *right)
{
    return strcmp((const char *)left, (const char *)right);
}

void
tsr_list_sort_strings(zlistx_t *list)
{
    tsr_list_sort(list, s_compare_strings);
}
