/*  tsr_list - sorting a zlistx correctly
    czmq 4.2.1's zlistx_sort (a comb sort) can leave a list unsorted: 31 file
    names in readdir order came out with one pair swapped, which made Merkle
    trees fail their own sortedness check. This sorts with qsort instead and
    moves the items' handles (no
    duplicator or destructor runs). Any thread; the list's owner.       */
#ifndef TSR_LIST_H
#define TSR_LIST_H

#include "tsr_common.h"

//  Compares two items (not pointers to items), like strcmp for char * lists.
typedef int(tsr_list_compare_fn)(const void *item1, const void *item2);

//  Sort `list` in place, ascending by `compare`; stable for equal items.
void tsr_list_sort(zlistx_t *list, tsr_list_compare_fn *compare);

//  Sort a list of C strings bytewise (strcmp).
void tsr_list_sort_strings(zlistx_t *list);

#endif
