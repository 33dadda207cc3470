/*  tsr_testdir - a scratch directory per unit test
    Made under $TSR_TEST_TMP (set by ctest; /tmp when unset or empty) and
    removed with everything in it, read-only subdirectories included,
    without following symlinks. Test code only: a failure fails the test
    (cmocka).                                                              */
#ifndef TSR_TESTDIR_H
#define TSR_TESTDIR_H

//  A new empty directory $TSR_TEST_TMP/NAME-XXXXXX (the parent is created
//  when missing). Returns its absolute path, symlinks resolved, as a new
//  string for tsr_testdir_destroy.
char *tsr_testdir_new(const char *name);

//  Remove the directory *dir_p and everything in it, free the string and
//  set *dir_p to NULL. NULL-safe.
void tsr_testdir_destroy(char **dir_p);

#endif
