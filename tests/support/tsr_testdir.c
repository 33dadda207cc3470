/*  tsr_testdir - a scratch directory per unit test                       */
#define _GNU_SOURCE //  nftw's FTW_DEPTH and FTW_PHYS
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "tsr_common.h"
#include "tsr_testdir.h"

char *
tsr_testdir_new(const char *name)
{
    const char *base = getenv("TSR_TEST_TMP");
    if (!base || !*base)
        base = "/tmp";
    (void)zsys_dir_create("%s", base); //  ctest's directory may not exist yet
    char *template = zsys_sprintf("%s/%s-XXXXXX", base, name);
    if (!mkdtemp(template))
        fail_msg("cannot make a scratch directory %s", template);
    char *dir = realpath(template, NULL);
    assert_non_null(dir);
    zstr_free(&template);
    return dir;
}

//  Let us into a directory a test left read-only, before its entries go
static int
s_open_up(const char *path, const struct stat *entry_stat, int type, struct FTW *walk)
{
    (void)walk;
    if ((type == FTW_D || type == FTW_DNR) && (entry_stat->st_mode & S_IRWXU) != S_IRWXU)
        (void)chmod(path, entry_stat->st_mode | S_IRWXU);
    return 0;
}

static int
s_remove(const char *path, const struct stat *entry_stat, int type, struct FTW *walk)
{
    (void)entry_stat;
    (void)type;
    (void)walk;
    return remove(path);
}

void
tsr_testdir_destroy(char **dir_p)
{
    assert_non_null(dir_p);
    if (!*dir_p)
        return;
    assert_int_equal(nftw(*dir_p, s_open_up, 16, FTW_PHYS), 0);
    assert_int_equal(nftw(*dir_p, s_remove, 16, FTW_DEPTH | FTW_PHYS), 0);
    free(*dir_p);
    *dir_p = NULL;
}
